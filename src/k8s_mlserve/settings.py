"""Server settings: environment variables (prefix ``MLSERVE_``, sections joined by ``__``) and a
secrets directory, the way Kubernetes mounts a Secret.

Examples::

    MLSERVE_MODEL__PATH=/models/diabetes     # a bundle or a registry directory
    MLSERVE_SERVER__PORT=8000
    MLSERVE_AUTH__API_KEYS=key-one,key-two   # or the file <secrets dir>/auth__api_keys
    MLSERVE_SECRETS_DIR=/etc/k8s-mlserve/secrets

``MLFLOW_TRACKING_URI`` is honoured when ``MLSERVE_MLFLOW__TRACKING_URI`` is not set. Variables and
secret files named like settings that match none are kept in ``Settings.unknown_names``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources import NestedSecretsSettingsSource

from .errors import ConfigurationError
from .setting_names import SECRETS_DIR_VARIABLE, UnknownName, unknown_names

DEFAULT_SECRETS_DIR = Path("/etc/k8s-mlserve/secrets")
SECRETS_DIR_ENV = SECRETS_DIR_VARIABLE
# Set by the kubelet in every container of a pod (whatever the pod's enableServiceLinks).
KUBERNETES_ENV = "KUBERNETES_SERVICE_HOST"


class ServerSettings(BaseModel):
    """HTTP server."""

    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 in a container)")
    port: int = Field(8000, ge=1, le=65535, description="port to listen on")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", description="critical, error, warning, info or debug"
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="larger bodies get 413")
    max_instances: int = Field(1000, ge=1, description="rows allowed in one request")
    shutdown_timeout: float = Field(
        20.0, gt=0, description="seconds in-flight requests get to finish after SIGTERM"
    )
    drain_seconds: float = Field(
        0.0,
        ge=0,
        description="after SIGTERM, keep serving (with /ready at 503) this long before closing",
    )
    environment: str = Field("development", description="shown on / (e.g. staging, production)")
    max_connections: int = Field(
        1000,
        ge=1,
        description="connections and requests served at once; more get 503 at once instead of "
        "holding memory and file descriptors",
    )
    keep_alive_seconds: float = Field(
        5.0, gt=0, le=300, description="an idle keep-alive connection is closed after this long"
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="seconds a request's body has to arrive in full; later: 408",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="seconds a connection has to send a request's headers before it is closed",
    )
    http: Literal["auto", "httptools", "h11"] = Field(
        "auto",
        description="HTTP parser: auto is httptools when installed (it is a dependency), else h11",
    )


class ModelSettings(BaseModel):
    """Where the model comes from."""

    path: Path | None = Field(None, description="a bundle directory or a registry directory")
    uri: str | None = Field(
        None, description="an MLflow model URI: models:/NAME@ALIAS, models:/NAME/VERSION, runs:/..."
    )
    cache_dir: Path | None = Field(
        None, description="where a model loaded from MLflow is written through as a bundle"
    )
    resolution: Annotated[list[Literal["bundle", "mlflow"]], NoDecode] = Field(
        default_factory=lambda: ["bundle", "mlflow"],  # type: ignore[arg-type]
        description="order in which sources are tried at start",
    )
    poll_interval: float = Field(30.0, gt=0, description="seconds between checks for a new version")
    allow_version_mismatch: bool = Field(
        False,
        description="serve a model whose recorded scikit-learn major.minor is not the installed "
        "one (logged as a warning); false: refuse it",
    )
    runtime: Literal["auto", "onnx", "sklearn"] = Field(
        "auto",
        description="auto: the compiled ONNX model when the bundle has one that passed its "
        "parity check, else scikit-learn; onnx: refuse a bundle without one; sklearn: always "
        "scikit-learn",
    )
    wait_for_path: bool | None = Field(
        None,
        description="when model.path does not exist (and no model.uri is set): true waits for it, "
        "retrying with backoff and /ready at 503, as a volume may be mounted late; false fails at "
        "start; default: true inside Kubernetes (KUBERNETES_SERVICE_HOST is set), else false",
    )

    @field_validator("resolution", mode="before")
    @classmethod
    def _split_resolution(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class AuthSettings(BaseModel):
    """API keys (several allowed, for rotation) and the monitoring token."""

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="keys accepted on /predict; none: auth is off"
    )
    monitoring_token: SecretStr | None = Field(
        None, description="token required on /metrics, /drift and /shadow; none: open"
    )
    required: bool | None = Field(
        None,
        description="refuse to start without an API key; default: true when server.environment "
        "is production (the generated manifests set it whenever the spec has keys)",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("\n", ",").split(",")
        if isinstance(value, list):
            keys = [k.strip() if isinstance(k, str) else k for k in value]
            keys = [k for k in keys if k != ""]
            if value and not keys:
                raise ValueError(
                    "is set but holds no key (only blanks and commas): put at least one key in "
                    "it, or remove it to run without authentication"
                )
            return keys
        return value

    @field_validator("monitoring_token", mode="before")
    @classmethod
    def _strip_token(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.api_keys)


class BatchingSettings(BaseModel):
    """Micro-batching of concurrent requests into one model call."""

    max_batch_size: int = Field(64, ge=1, description="rows gathered into one model call")
    max_wait_ms: float = Field(
        2.0, ge=0, description="longest a queued row waits for company; 0 disables waiting"
    )
    inline_rows: int | None = Field(
        None,
        ge=0,
        description="model calls of at most this many rows run on the event loop instead of "
        "the worker thread (compiled models only); unset: chosen at load, as many rows as a "
        "timed call answers within 1 ms; 0: always the worker thread",
    )


class ResponseSettings(BaseModel):
    """Overrides for example-specific response fields."""

    risk_labels: Annotated[list[str] | None, NoDecode] = Field(
        None, description="labels of the risk bands, low to high, e.g. 'Faible,Modéré,Élevé'"
    )

    @field_validator("risk_labels", mode="before")
    @classmethod
    def _split_labels(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


class DriftSettings(BaseModel):
    """Drift detection: the window of recent requests and the thresholds (see docs/drift.md).

    A feature drifts when its test is significant after the correction for testing several
    features (``p_value``, ``correction``) and its PSI shows a change worth acting on
    (``min_psi``); the dataset drifts when at least ``dataset_share`` of the features do.
    """

    enabled: bool = True
    window_size: int = Field(1000, ge=10, description="recent rows kept per replica")
    min_rows: int = Field(100, ge=5, description="fewer rows than this: insufficient data")
    p_value: float = Field(0.05, gt=0, lt=1, description="significance level of each test")
    correction: Literal["benjamini-hochberg", "bonferroni", "none"] = Field(
        "benjamini-hochberg", description="multiple-testing correction across features"
    )
    min_psi: float = Field(
        0.1,
        ge=0,
        description="PSI below which a significant change is only a warning; 0 trusts the test",
    )
    psi_warning: float = Field(0.1, gt=0, description="PSI band: moderate change from here")
    psi_drift: float = Field(
        0.25, gt=0, description="PSI band: major change from here (a warning even untested)"
    )
    dataset_share: float = Field(
        0.5, gt=0, le=1, description="share of drifting features that makes the dataset drift"
    )
    interval: float = Field(
        60.0, gt=0, description="seconds between two computations of the drift gauges"
    )


class RequestLogSettings(BaseModel):
    """JSON-lines log of validated inputs and predictions (for offline drift checks)."""

    dir: Path | None = Field(None, description="directory of the JSON-lines log; unset: no log")
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    backups: int = Field(5, ge=0)


class ShadowSettings(BaseModel):
    """Shadow scoring: a challenger compared with the served model (see docs/shadow.md)."""

    model: str | None = Field(
        None,
        description="the challenger: models:/NAME@ALIAS, models:/NAME/VERSION or runs:/... "
        "(MLflow), a bundle or registry directory (a path with a '/'), or a version of the "
        "registry directory model.path (e.g. v2); unset: no shadow scoring",
    )
    sample_rate: float = Field(
        0.1, ge=0, le=1, description="share of validated requests the challenger also scores"
    )
    queue_size: int = Field(
        1000,
        ge=1,
        description="requests waiting to be scored by the challenger; more are dropped (counted)",
    )

    @field_validator("model", mode="before")
    @classmethod
    def _strip_model(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value


class MLflowSettings(BaseModel):
    """MLflow tracking server used to resolve model URIs."""

    tracking_uri: str | None = Field(None, description="e.g. http://mlflow:5000")


class Settings(BaseSettings):
    """All settings of a k8s-mlserve server."""

    model_config = SettingsConfigDict(
        env_prefix="MLSERVE_",
        env_nested_delimiter="__",
        secrets_prefix="",
        secrets_nested_delimiter="__",
        secrets_dir_missing="ok",
        extra="ignore",
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    batching: BatchingSettings = Field(default_factory=BatchingSettings)
    response: ResponseSettings = Field(default_factory=ResponseSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    request_log: RequestLogSettings = Field(default_factory=RequestLogSettings)
    shadow: ShadowSettings = Field(default_factory=ShadowSettings)
    mlflow: MLflowSettings = Field(default_factory=MLflowSettings)

    _unknown_names: tuple[UnknownName, ...] = PrivateAttr(default=())

    @property
    def unknown_names(self) -> tuple[UnknownName, ...]:
        """What ``load_settings`` found named like a setting but matching none."""
        return self._unknown_names

    @model_validator(mode="after")
    def _defaults_from_environment(self) -> Settings:
        if self.mlflow.tracking_uri is None and os.environ.get("MLFLOW_TRACKING_URI"):
            self.mlflow.tracking_uri = os.environ["MLFLOW_TRACKING_URI"]
        if self.model.wait_for_path is None:
            self.model.wait_for_path = in_kubernetes(os.environ)
        if self.drift.psi_warning >= self.drift.psi_drift:
            raise ValueError("drift.psi_warning must be below drift.psi_drift")
        if self.auth.required is None:
            self.auth.required = self.server.environment.strip().lower() == "production"
        if self.auth.required and not self.auth.api_keys:
            raise ValueError(
                "authentication is required (MLSERVE_AUTH__REQUIRED, on by default when "
                f"MLSERVE_SERVER__ENVIRONMENT is {self.server.environment!r}) but no API key is "
                "configured: put keys in the secrets file auth__api_keys or "
                "MLSERVE_AUTH__API_KEYS, or set MLSERVE_AUTH__REQUIRED=false to serve without "
                "authentication"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            NestedSecretsSettingsSource(file_secret_settings),
        )


def load_settings(
    secrets_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build settings from the environment and the secrets directory.

    The secrets directory is ``secrets_dir``, else ``$MLSERVE_SECRETS_DIR``, else
    ``/etc/k8s-mlserve/secrets`` when it exists. ``overrides`` (e.g. command-line options) replace
    single keys of a section: ``{"server": {"port": 9000}}``. Invalid values raise
    ``ConfigurationError`` naming each setting, and each unknown name (``unknown_names``) that
    may be the cause, such as a misspelled variable.
    """
    chosen = secrets_dir or os.environ.get(SECRETS_DIR_ENV)
    if chosen is None and DEFAULT_SECRETS_DIR.is_dir():
        chosen = DEFAULT_SECRETS_DIR
    if chosen is not None and not Path(chosen).is_dir():
        raise ConfigurationError(f"secrets directory {chosen} does not exist")
    directory = None if chosen is None else Path(chosen)
    unknown = tuple(unknown_names(Settings, os.environ, directory))
    hints = "".join(f"\n  {name}" for name in unknown)
    try:
        settings = Settings(_secrets_dir=directory)
        if overrides:
            data = settings.model_dump()
            for section, values in overrides.items():
                data[section] = {**data[section], **values}
            settings = Settings.model_validate(data)
    except PydanticValidationError as exc:
        message = describe_validation_error(exc, prefix="MLSERVE_")
        raise ConfigurationError(message + hints) from exc
    except SettingsError as exc:
        raise ConfigurationError(f"invalid settings: {exc}{hints}") from exc
    settings._unknown_names = unknown
    return settings


def in_kubernetes(environ: Mapping[str, str]) -> bool:
    """Whether the process runs in a Kubernetes pod: the default of ``model.wait_for_path``."""
    return bool(environ.get(KUBERNETES_ENV))


def describe_validation_error(exc: PydanticValidationError, prefix: str = "") -> str:
    """One line per problem, naming the setting as an environment variable would."""
    lines = []
    for error in exc.errors():
        location = "__".join(str(part) for part in error["loc"] if not isinstance(part, int))
        name = f"{prefix}{location.upper()}" if location else "settings"
        lines.append(f"{name}: {error['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)
