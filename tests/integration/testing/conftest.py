"""A clean slate of ``K8S_MLSERVE_*`` variables for the plugin's own tests (CI sets them for the
real cluster)."""

from __future__ import annotations

import pytest

from k8s_mlserve.testing.options import ENV


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin reads K8S_MLSERVE_* variables; tests set the ones they mean."""
    for variable in ENV.values():
        monkeypatch.delenv(variable, raising=False)
