"""What ``create_app`` says about the settings it is given before it serves."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server import create_app
from k8s_mlserve.settings import load_settings
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import FakeSource


def test_the_server_start_warns_about_each_unknown_name(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    toy_bundle: Bundle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__PROT", "9000")
    monkeypatch.setenv("MLSERVE_BATCHING__MAX_WAIT", "5")
    caplog.set_level(logging.WARNING, logger="k8s_mlserve.server")
    with InProcessApp(create_app(load_settings(tmp_path), sources=[FakeSource(toy_bundle)])) as app:
        app.wait_until_ready()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "unknown" in r.getMessage()]
    assert said == [
        (
            logging.WARNING,
            "unknown setting MLSERVE_BATCHING__MAX_WAIT (did you mean "
            "MLSERVE_BATCHING__MAX_WAIT_MS?)",
        ),
        (
            logging.WARNING,
            "unknown setting MLSERVE_SERVER__PROT (did you mean MLSERVE_SERVER__PORT?)",
        ),
    ]
