"""The unit tier runs on small synthetic data, built in seconds; never on the real datasets."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Refuses the real datasets: a test that needs them belongs in tests/integration."""
    pytest.fail(
        "unit tests run on synthetic data; move a test that needs the real datasets "
        "(data_dir) to tests/integration"
    )
