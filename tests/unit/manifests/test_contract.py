"""The manifests' runtime contract matches the server and its settings."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from k8s_mlserve.manifests import contract, render
from k8s_mlserve.manifests.config import config_data
from k8s_mlserve.server import probes
from k8s_mlserve.server.app import create_app
from k8s_mlserve.settings import DEFAULT_SECRETS_DIR, SECRETS_DIR_ENV, Settings, load_settings

from .conftest import counting_source, make_spec


def _setting(path: str) -> Any:
    """The settings field a variable like ``MLSERVE_SERVER__PORT`` or a secret file names."""
    model: type[BaseModel] = Settings
    field = None
    for part in path.lower().split("__"):
        assert part in model.model_fields, f"{path}: no setting {part}"
        field = model.model_fields[part]
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
    return field


def test_probe_paths_are_the_servers_routes(tmp_path: Path) -> None:
    # Nothing is loaded until the app starts, so an empty directory is enough.
    app = create_app(Settings(model={"path": tmp_path}))
    routes = {route.path: route.endpoint.handler for route in app.routes}  # type: ignore[attr-defined]
    assert routes[contract.LIVENESS_PATH] is probes.health
    assert routes[contract.READINESS_PATH] is probes.ready
    assert routes[contract.STARTUP_PATH] is probes.startup
    assert contract.METRICS_PATH in routes


def test_port_and_secrets_dir_are_the_settings_defaults() -> None:
    assert Settings().server.port == contract.PORT
    assert str(DEFAULT_SECRETS_DIR) == contract.SECRETS_MOUNT
    assert SECRETS_DIR_ENV == contract.ENV_SECRETS_DIR


def test_every_variable_in_the_config_map_is_a_setting() -> None:
    spec = make_spec(mlflow={}, model={"registered_name": "m"})
    for key in config_data(spec):
        if key in (
            contract.ENV_SECRETS_DIR,
            contract.ENV_TRACKING_URI,
            contract.ENV_MLFLOW_TELEMETRY,
        ):
            continue
        assert key.startswith("MLSERVE_")
        _setting(key.removeprefix("MLSERVE_"))


def test_secret_files_are_settings() -> None:
    assert _setting(contract.API_KEYS_FILE).annotation is not None
    assert _setting(contract.MONITORING_TOKEN_FILE).annotation is not None


def test_the_documented_contract() -> None:
    assert (contract.PORT, contract.UID, contract.GID) == (8000, 10001, 10001)
    assert (contract.LIVENESS_PATH, contract.READINESS_PATH, contract.STARTUP_PATH) == (
        "/health",
        "/ready",
        "/startup",
    )
    assert (contract.MODELS_MOUNT, contract.LOGS_MOUNT) == ("/models", "/logs")


def test_the_server_reads_the_rendered_settings_and_secret_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a pod sees: the ConfigMap as environment variables, the Secret as files.
    spec = make_spec(
        mlflow={},
        model={"registered_name": "demo-model"},
        config={"log_level": "debug"},
        api={"shutdown_timeout_seconds": 12},
    )
    objects = {f"{m['kind']}/{m['metadata']['name']}": m for m in render(spec, counting_source())}
    for key, value in objects["ConfigMap/demo-config"]["data"].items():
        monkeypatch.setenv(key, value)
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    for key, value in objects["Secret/demo-secrets"]["stringData"].items():
        (secret_dir / key).write_text(value)
    settings = load_settings(secrets_dir=secret_dir)
    assert [k.get_secret_value() for k in settings.auth.api_keys] == [
        objects["Secret/demo-secrets"]["stringData"]["auth__api_keys"]
    ]
    assert settings.auth.monitoring_token is not None
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 8000
    assert settings.server.log_level == "debug"
    assert settings.server.shutdown_timeout == 12
    assert str(settings.model.path) == "/models/demo"
    assert settings.model.uri == "models:/demo-model@champion"
    assert str(settings.request_log.dir) == "/logs"
    assert settings.mlflow.tracking_uri == "http://demo-mlflow:5000"


def test_the_default_tracking_server_is_the_image_k8s_mlserve_builds() -> None:
    assert contract.MLFLOW_SERVER_VERSION == "3.17.2"
    assert contract.DEFAULT_MLFLOW_IMAGE == "k8s-mlserve-mlflow:3.17.2"
    mlflow = make_spec(mlflow={}).mlflow
    assert mlflow is not None
    assert mlflow.image == contract.DEFAULT_MLFLOW_IMAGE


def test_the_tracking_server_matches_the_mlflow_client() -> None:
    # A server of another minor release than the client may not speak the same REST API.
    try:
        client = importlib.metadata.version("mlflow")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the mlflow extra is not installed")
    assert client.split(".")[:2] == contract.MLFLOW_SERVER_VERSION.split(".")[:2]
