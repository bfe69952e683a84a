"""The examples trained on the real data (once per session) and real servers (uvicorn in a
subprocess on a free port) for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_mlserve.testing import ServerProcess
from k8s_mlserve.training.runner import TrainingRun, train_example

API_KEYS = ("key-current-0123456789", "key-previous-9876543210")
MONITORING_TOKEN = "monitoring-token-abc"


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, TrainingRun]:
    """Registry directories of the three examples, trained on the real data."""
    root = tmp_path_factory.mktemp("models")
    return {
        name: train_example(name, output=root / name, data=str(data_dir), quiet=True)
        for name in ("iris", "diabetes", "churn")
    }


@pytest.fixture(scope="session")
def registries(trained: dict[str, TrainingRun]) -> dict[str, Path]:
    """Example name -> registry directory."""
    return {name: run.path.parent.parent for name, run in trained.items()}


@pytest.fixture(scope="session")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory laid out like a mounted Kubernetes Secret."""
    path = tmp_path_factory.mktemp("secrets")
    (path / "auth__api_keys").write_text("\n".join(API_KEYS) + "\n")
    (path / "auth__monitoring_token").write_text(MONITORING_TOKEN + "\n")
    return path


@pytest.fixture(scope="module", params=["iris", "diabetes", "churn"])
def example_server(
    request: pytest.FixtureRequest, registries: dict[str, Path], secrets_dir: Path
) -> Iterator[tuple[str, ServerProcess]]:
    """Each example served with two API keys and a monitoring token."""
    name: str = request.param
    server = ServerProcess(
        {"MLSERVE_MODEL__PATH": str(registries[name])},
        secrets_dir=secrets_dir,
        api_key=API_KEYS[0],
    )
    with server:
        yield name, server
