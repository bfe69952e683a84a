"""Shared by every tier: where the real datasets are.

Only tests/integration and tests/e2e read them; the unit tier runs on small synthetic data (its own
conftest refuses ``data_dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Where diabetes.csv and telco-customer-churn.csv are (never committed to this repo)."""
    path = Path(os.environ.get("K8S_MLSERVE_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not (path / "diabetes.csv").is_file():
        pytest.fail(f"datasets not found in {path}; set K8S_MLSERVE_DATA_DIR")
    return path
