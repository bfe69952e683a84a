from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import DeploymentSpec, SecretSource, generated_secret_keys, render
from k8s_mlserve.manifests.config import (
    build_api_secret,
    build_postgres_secret,
    config_data,
    config_hash,
)
from k8s_mlserve.manifests.spec_types import SecretValue

from .conftest import counting_source, make_spec


def test_values_come_from_the_environment_a_file_or_the_generator(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-a-file\n")
    source = SecretSource(environ={"KEYS": " k1,k2 \n"}, token=lambda n: "g" * n)
    assert source.resolve(SecretValue(from_env="KEYS"), "x") == "k1,k2"
    assert source.resolve(SecretValue(from_file=tmp_path / "token"), "x") == "from-a-file"
    assert source.resolve(SecretValue(generate=True, length=20), "x") == "g" * 20


def test_missing_values_name_the_field(tmp_path: Path) -> None:
    source = SecretSource(environ={"EMPTY": "  "})
    with pytest.raises(
        ConfigurationError,
        match=r"secrets.api_keys.from_env: environment "
        r"variable NOPE is not set",
    ):
        source.resolve(SecretValue(from_env="NOPE"), "secrets.api_keys")
    with pytest.raises(ConfigurationError, match="EMPTY is not set or empty"):
        source.resolve(SecretValue(from_env="EMPTY"), "secrets.api_keys")
    with pytest.raises(ConfigurationError, match=r"secrets.api_keys.from_file: cannot read"):
        source.resolve(SecretValue(from_file=tmp_path / "nope"), "secrets.api_keys")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigurationError, match="is empty"):
        source.resolve(SecretValue(from_file=tmp_path / "empty"), "secrets.api_keys")


def test_default_generator_is_random_and_url_safe() -> None:
    source = SecretSource()
    first = source.resolve(SecretValue(generate=True, length=40), "x")
    second = source.resolve(SecretValue(generate=True, length=40), "x")
    assert len(first) == 40
    assert first != second
    assert first.replace("-", "").replace("_", "").isalnum()


def test_generated_secrets_differ_between_renders() -> None:
    spec = make_spec()
    secrets = [
        next(m for m in render(spec) if m["kind"] == "Secret")["stringData"] for _ in range(2)
    ]
    assert secrets[0]["auth__api_keys"] != secrets[1]["auth__api_keys"]
    assert set(secrets[0]) == {"auth__api_keys", "auth__monitoring_token"}


def test_api_secret_from_environment() -> None:
    spec = make_spec(secrets={"api_keys": {"from_env": "KEYS"}, "monitoring_token": None})
    secret = build_api_secret(spec, SecretSource(environ={"KEYS": "a,b"}))
    assert secret is not None
    assert secret.string_data == {"auth__api_keys": "a,b"}


def test_no_secret_when_existing_or_empty() -> None:
    assert build_api_secret(make_spec(secrets={"existing": "mine"}), counting_source()) is None
    spec = make_spec(secrets={"api_keys": None, "monitoring_token": None})
    assert build_api_secret(spec, counting_source()) is None
    assert "MLSERVE_SECRETS_DIR" not in config_data(spec)
    assert config_data(spec)["MLSERVE_AUTH__REQUIRED"] == "false", "no keys, said so"
    assert config_data(make_spec(secrets={"existing": "mine"}))["MLSERVE_AUTH__REQUIRED"] == "true"
    assert config_data(make_spec(secrets={"existing": "mine"}))["MLSERVE_SECRETS_DIR"] == (
        "/etc/k8s-mlserve/secrets"
    )


def test_config_data_is_the_server_settings() -> None:
    spec = make_spec(
        model={"name": "m"},
        config={"environment": "staging", "log_level": "debug", "env": {"MLSERVE_X__Y": 3}},
        api={"shutdown_timeout_seconds": 15},
    )
    assert config_data(spec) == {
        "MLSERVE_AUTH__REQUIRED": "true",
        "MLSERVE_MODEL__PATH": "/models/m",
        "MLSERVE_REQUEST_LOG__DIR": "/logs",
        "MLSERVE_SECRETS_DIR": "/etc/k8s-mlserve/secrets",
        "MLSERVE_SERVER__ENVIRONMENT": "staging",
        "MLSERVE_SERVER__HOST": "0.0.0.0",
        "MLSERVE_SERVER__LOG_LEVEL": "debug",
        "MLSERVE_SERVER__PORT": "8000",
        "MLSERVE_SERVER__SHUTDOWN_TIMEOUT": "15",
        "MLSERVE_X__Y": "3",
    }


def test_config_with_mlflow() -> None:
    spec = make_spec(mlflow={}, model={"registered_name": "demo-model", "alias": "prod"})
    data = config_data(spec)
    assert data["MLFLOW_TRACKING_URI"] == "http://demo-mlflow:5000"
    assert data["MLSERVE_MODEL__URI"] == "models:/demo-model@prod"
    assert data["MLSERVE_MODEL__CACHE_DIR"].startswith("/models/")
    assert "MLSERVE_MODEL__URI" not in config_data(make_spec(mlflow={}))


def test_derived_settings_cannot_be_overridden() -> None:
    spec = make_spec(config={"env": {"MLSERVE_MODEL__PATH": "/elsewhere"}})
    with pytest.raises(ConfigurationError, match=r"config\.env\.MLSERVE_MODEL__PATH: this setting"):
        config_data(spec)


def test_config_hash_follows_the_settings() -> None:
    assert config_hash(make_spec()) == config_hash(make_spec())
    assert config_hash(make_spec()) != config_hash(make_spec(config={"log_level": "debug"}))


def test_postgres_credentials() -> None:
    spec = make_spec(
        mlflow={"postgres": {"user": "ml", "database": "runs", "password": {"from_env": "PGPASS"}}}
    )
    secret = build_postgres_secret(spec, SecretSource(environ={"PGPASS": "s3cret-pass"}))
    assert secret is not None
    assert secret.string_data == {
        "POSTGRES_DB": "runs",
        "POSTGRES_PASSWORD": "s3cret-pass",
        "POSTGRES_USER": "ml",
    }
    with pytest.raises(ConfigurationError, match=r"mlflow\.postgres\.password: use only letters"):
        build_postgres_secret(spec, SecretSource(environ={"PGPASS": "p@ss/word"}))
    existing = make_spec(mlflow={"postgres": {"existing_secret": "pg"}})
    assert build_postgres_secret(existing, counting_source()) is None


def _secrets(manifests: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {m["metadata"]["name"]: m["stringData"] for m in manifests if m["kind"] == "Secret"}


def _api_secret_data(spec: DeploymentSpec, source: SecretSource) -> dict[str, str]:
    secret = build_api_secret(spec, source)
    assert secret is not None
    assert secret.string_data is not None
    return dict(secret.string_data)


def test_generated_secret_keys_name_what_to_keep() -> None:
    assert generated_secret_keys(make_spec()) == {
        "demo-secrets": ["auth__api_keys", "auth__monitoring_token"]
    }
    assert generated_secret_keys(make_spec(mlflow={})) == {
        "demo-secrets": ["auth__api_keys", "auth__monitoring_token"],
        "demo-postgres": ["POSTGRES_PASSWORD"],
    }
    mixed = make_spec(
        secrets={"api_keys": {"from_env": "KEYS"}},
        mlflow={"postgres": {"password": {"from_env": "PGPASS"}}},
    )
    assert generated_secret_keys(mixed) == {"demo-secrets": ["auth__monitoring_token"]}
    none = make_spec(secrets={"existing": "mine"}, mlflow={"postgres": {"existing_secret": "pg"}})
    assert generated_secret_keys(none) == {}
    assert generated_secret_keys(make_spec(secrets={"api_keys": None})) == {
        "demo-secrets": ["auth__monitoring_token"]
    }


def test_kept_values_survive_rendering_again() -> None:
    spec = make_spec(mlflow={})
    first = _secrets(render(spec))
    keep = {
        name: {key: first[name][key] for key in keys}
        for name, keys in generated_secret_keys(spec).items()
    }
    again = [_secrets(render(spec, SecretSource(keep=keep))) for _ in range(2)]
    assert again[0] == again[1] == first
    assert _secrets(render(spec)) != first  # without keep, generated again


def test_a_kept_value_fills_only_its_own_key() -> None:
    source = SecretSource(
        keep={"demo-secrets": {"auth__api_keys": "kept-key"}}, token=lambda n: "g"
    )
    secret = _api_secret_data(make_spec(), source)
    assert secret == {"auth__api_keys": "kept-key", "auth__monitoring_token": "g"}
    # an empty kept value, or one of another Secret, is not a value to keep
    empty = SecretSource(keep={"demo-secrets": {"auth__api_keys": ""}}, token=lambda n: "g")
    assert _api_secret_data(make_spec(), empty)["auth__api_keys"] == "g"
    other = SecretSource(keep={"other": {"auth__api_keys": "k"}}, token=lambda n: "g")
    assert _api_secret_data(make_spec(), other)["auth__api_keys"] == "g"


def test_environment_and_files_win_over_kept_values(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-a-file\n")
    spec = make_spec(
        secrets={
            "api_keys": {"from_env": "KEYS"},
            "monitoring_token": {"from_file": tmp_path / "token"},
        },
        mlflow={"postgres": {"password": {"from_env": "PGPASS"}}},
    )
    keep = {
        "demo-secrets": {"auth__api_keys": "old-key", "auth__monitoring_token": "old-token"},
        "demo-postgres": {"POSTGRES_PASSWORD": "old-password"},
    }
    source = SecretSource(environ={"KEYS": "rotated", "PGPASS": "new-password"}, keep=keep)
    secrets = _secrets(render(spec, source))
    assert secrets["demo-secrets"] == {
        "auth__api_keys": "rotated",
        "auth__monitoring_token": "from-a-file",
    }
    assert secrets["demo-postgres"]["POSTGRES_PASSWORD"] == "new-password"


def test_a_kept_postgres_password_is_still_checked() -> None:
    spec = make_spec(mlflow={})
    source = SecretSource(keep={"demo-postgres": {"POSTGRES_PASSWORD": "p@ss/word"}})
    with pytest.raises(ConfigurationError, match=r"mlflow\.postgres\.password: use only letters"):
        build_postgres_secret(spec, source)


def test_where_the_api_reads_its_model_follows_the_source() -> None:
    claim = config_data(make_spec(model={"name": "m"}))
    assert claim["MLSERVE_MODEL__PATH"] == "/models/m"
    assert "MLSERVE_MODEL__URI" not in claim
    image = config_data(make_spec(model={"name": "m", "source": "image"}, mlflow={}))
    assert image["MLSERVE_MODEL__PATH"] == "/opt/k8s-mlserve/model"
    assert "MLSERVE_MODEL__URI" not in image
    assert "MLSERVE_MODEL__CACHE_DIR" not in image
    mlflow = config_data(make_spec(model={"name": "m", "registered_name": "r"}, mlflow={}))
    assert mlflow["MLSERVE_MODEL__PATH"] == "/models/m"  # the bundle training wrote comes first
    assert mlflow["MLSERVE_MODEL__URI"] == "models:/r@champion"
    assert mlflow["MLSERVE_MODEL__CACHE_DIR"] == "/models/m-mlflow-cache"


def test_the_request_log_can_be_turned_off() -> None:
    assert config_data(make_spec())["MLSERVE_REQUEST_LOG__DIR"] == "/logs"
    quiet = make_spec(monitoring={"request_log": False})
    assert "MLSERVE_REQUEST_LOG__DIR" not in config_data(quiet), "no record of requests"
    with pytest.raises(ConfigurationError, match="drift_check reads the request log"):
        make_spec(monitoring={"request_log": False}, drift_check={"schedule": "@daily"})
