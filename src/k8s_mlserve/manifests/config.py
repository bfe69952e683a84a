"""The ConfigMap (non-secret settings) and the Secrets, with secret values resolved at render
time from the environment, a file, or a random generator unless a value to keep is given."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kubernetes import client

from ..errors import ConfigurationError
from . import contract, naming
from .naming import labels, names
from .spec import DeploymentSpec
from .spec_types import SecretValue
from .versions import api_version

_URI_SAFE = re.compile(r"^[A-Za-z0-9._~-]+$")


def _token(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]


@dataclass(frozen=True)
class SecretSource:
    """Where render-time secret values come from; tests pass their own.

    ``keep`` holds values to keep, by Secret name and key (typically read from the live
    cluster): a ``generate: true`` value found there is reused instead of generated again, so
    re-applying keeps it. ``from_env`` and ``from_file`` values always win over kept ones.
    """

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    token: Callable[[int], str] = _token
    keep: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def resolve(
        self, value: SecretValue, where: str, *, secret: str | None = None, key: str | None = None
    ) -> str:
        """The value of a secret, or a ``ConfigurationError`` naming the spec field.

        ``secret`` and ``key`` say where the value goes, for a kept value to be found.
        """
        if value.from_env is not None:
            if value.from_env not in self.environ or not self.environ[value.from_env].strip():
                raise ConfigurationError(
                    f"{where}.from_env: environment variable {value.from_env} is not set or empty"
                )
            return self.environ[value.from_env].strip()
        if value.from_file is not None:
            try:
                text = value.from_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigurationError(
                    f"{where}.from_file: cannot read {value.from_file}: {exc.strerror}"
                ) from exc
            if not text:
                raise ConfigurationError(f"{where}.from_file: {value.from_file} is empty")
            return text
        kept = self.keep.get(secret, {}).get(key) if secret and key else None
        return kept if kept else self.token(value.length)


def tracking_uri(spec: DeploymentSpec) -> str:
    return f"http://{names(spec).mlflow}:{contract.MLFLOW_PORT}"


def has_api_secret(spec: DeploymentSpec) -> bool:
    """Whether the API pods mount a Secret (rendered or existing)."""
    s = spec.secrets
    return bool(s.existing or s.api_keys or s.monitoring_token)


def api_secret_name(spec: DeploymentSpec) -> str:
    return spec.secrets.existing or names(spec).secret


def monitoring_token_key(spec: DeploymentSpec) -> tuple[str, str] | None:
    """The Secret name and key the API reads its monitoring token from, or ``None`` when
    ``/metrics`` needs no token. An existing Secret is taken to hold one."""
    s = spec.secrets
    if s.existing is None and s.monitoring_token is None:
        return None
    return api_secret_name(spec), contract.MONITORING_TOKEN_FILE


def postgres_secret_name(spec: DeploymentSpec) -> str:
    assert spec.mlflow is not None
    return spec.mlflow.postgres.existing_secret or names(spec).postgres_secret


def registry_dir(spec: DeploymentSpec) -> str:
    """The registry directory on the models claim: what training and ``push`` publish into."""
    return f"{contract.MODELS_MOUNT}/{spec.model_name}"


def model_path(spec: DeploymentSpec) -> str:
    """Where the API and the drift check read the model: in the image, or on the claim."""
    return contract.BAKED_MODEL_DIR if spec.model_source == "image" else registry_dir(spec)


def config_data(spec: DeploymentSpec) -> dict[str, str]:
    """The API settings written to the ConfigMap, as environment variables."""
    data = {
        contract.ENV_HOST: contract.HOST,
        contract.ENV_PORT: str(contract.PORT),
        contract.ENV_LOG_LEVEL: spec.config.log_level,
        contract.ENV_ENVIRONMENT: spec.config.environment,
        contract.ENV_SHUTDOWN_TIMEOUT: str(spec.api.shutdown_timeout_seconds),
        contract.ENV_MODEL_PATH: model_path(spec),
    }
    if spec.monitoring.request_log:
        data[contract.ENV_REQUEST_LOG_DIR] = contract.LOGS_MOUNT
    if has_api_secret(spec):
        data[contract.ENV_SECRETS_DIR] = contract.SECRETS_MOUNT
    # A spec with keys makes a pod without them refuse to start; one without keys says so.
    with_keys = spec.secrets.api_keys is not None or spec.secrets.existing is not None
    data[contract.ENV_AUTH_REQUIRED] = "true" if with_keys else "false"
    if spec.mlflow is not None:
        data[contract.ENV_TRACKING_URI] = tracking_uri(spec)
        data[contract.ENV_MLFLOW_TELEMETRY] = "true"  # pods have no business calling out
        if spec.model_source == "mlflow":
            data[contract.ENV_MODEL_URI] = model_uri(spec, spec.model.alias)
            data[contract.ENV_MODEL_CACHE_DIR] = f"{registry_dir(spec)}-mlflow-cache"
    if spec.shadow is not None:
        challenger = spec.shadow.reference(spec.model_source, spec.model.registered_name)
        data[contract.ENV_SHADOW_MODEL] = challenger
        data[contract.ENV_SHADOW_SAMPLE_RATE] = f"{spec.shadow.sample_rate:g}"
        data[contract.ENV_SHADOW_QUEUE_SIZE] = str(spec.shadow.queue_size)
    for key, value in spec.config.env.items():
        if key in data:
            raise ConfigurationError(
                f"config.env.{key}: this setting is derived from the rest of the spec; remove it"
            )
        data[key] = value
    return dict(sorted(data.items()))


def model_uri(spec: DeploymentSpec, alias: str) -> str:
    return f"models:/{spec.model.registered_name}@{alias}"


def config_hash(spec: DeploymentSpec) -> str:
    """A digest of the ConfigMap, put on pod templates so a settings change rolls the pods."""
    payload = json.dumps(config_data(spec), sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def _meta(spec: DeploymentSpec, name: str, component: str | None = None) -> client.V1ObjectMeta:
    return client.V1ObjectMeta(
        name=name, namespace=spec.target_namespace, labels=labels(spec, component)
    )


def build_config_map(spec: DeploymentSpec) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        api_version=api_version("ConfigMap", spec.kubernetes_version),
        kind="ConfigMap",
        metadata=_meta(spec, names(spec).config),
        data=config_data(spec),
    )


def _api_secret_values(spec: DeploymentSpec) -> dict[str, tuple[SecretValue, str]]:
    """The rendered API Secret's keys, with their values' spec and spec path."""
    s = spec.secrets
    if s.existing is not None:
        return {}
    values = {
        contract.API_KEYS_FILE: (s.api_keys, "secrets.api_keys"),
        contract.MONITORING_TOKEN_FILE: (s.monitoring_token, "secrets.monitoring_token"),
    }
    return {key: (value, where) for key, (value, where) in values.items() if value is not None}


def generated_secret_keys(spec: DeploymentSpec) -> dict[str, list[str]]:
    """The rendered Secrets' keys holding generated values, by Secret name: what to read back
    from a live cluster and pass as ``SecretSource(keep=...)`` to keep them across applies."""
    found = {
        names(spec).secret: [
            key for key, (value, _) in _api_secret_values(spec).items() if value.generate
        ]
    }
    if spec.mlflow is not None:
        pg = spec.mlflow.postgres
        if pg.existing_secret is None and pg.password.generate:
            found[names(spec).postgres_secret] = [contract.POSTGRES_PASSWORD_KEY]
    return {name: keys for name, keys in found.items() if keys}


def build_api_secret(spec: DeploymentSpec, source: SecretSource) -> client.V1Secret | None:
    """The Secret mounted as files in the API pods; none when an existing one is used."""
    name = names(spec).secret
    data = {
        key: source.resolve(value, where, secret=name, key=key)
        for key, (value, where) in _api_secret_values(spec).items()
    }
    if not data:
        return None
    return client.V1Secret(
        api_version=api_version("Secret", spec.kubernetes_version),
        kind="Secret",
        metadata=_meta(spec, name, naming.API),
        type="Opaque",
        string_data=data,
    )


def build_postgres_secret(spec: DeploymentSpec, source: SecretSource) -> client.V1Secret | None:
    """The PostgreSQL credentials, read by PostgreSQL and by the MLflow server."""
    assert spec.mlflow is not None
    pg = spec.mlflow.postgres
    if pg.existing_secret is not None:
        return None
    name = names(spec).postgres_secret
    password = source.resolve(
        pg.password, "mlflow.postgres.password", secret=name, key=contract.POSTGRES_PASSWORD_KEY
    )
    if not _URI_SAFE.match(password):
        raise ConfigurationError(
            "mlflow.postgres.password: use only letters, digits and '._~-', because the password "
            "is part of the MLflow backend store URI"
        )
    return client.V1Secret(
        api_version=api_version("Secret", spec.kubernetes_version),
        kind="Secret",
        metadata=_meta(spec, name, naming.POSTGRES),
        type="Opaque",
        string_data={
            contract.POSTGRES_DB_KEY: pg.database,
            contract.POSTGRES_PASSWORD_KEY: password,
            contract.POSTGRES_USER_KEY: pg.user,
        },
    )
