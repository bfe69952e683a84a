"""Shared fixtures: the datasets and trained example registries (trained once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8s_mlserve.training.runner import TrainingRun, train_example

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Where diabetes.csv and telco-customer-churn.csv are (never committed to this repo)."""
    path = Path(os.environ.get("K8S_MLSERVE_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not (path / "diabetes.csv").is_file():
        pytest.fail(f"datasets not found in {path}; set K8S_MLSERVE_DATA_DIR")
    return path


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
