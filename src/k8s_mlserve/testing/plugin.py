"""The k8s-mlserve pytest plugin (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: needs a Kubernetes cluster")
    config.addinivalue_line("markers", "slow: takes more than a minute")
