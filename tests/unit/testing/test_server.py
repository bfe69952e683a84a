from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from k8s_mlserve.testing import SecretsDir, ServerProcess, StopWaiting, wait_for


def test_wait_for_retries_errors_until_the_condition_holds() -> None:
    calls: list[int] = []

    def condition() -> str | None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not listening yet")
        return "up"

    assert wait_for(condition, timeout=5, interval=0.01) == "up"
    assert len(calls) == 3


def test_stop_waiting_ends_the_wait_with_its_error() -> None:
    def condition() -> bool:
        raise StopWaiting(ValueError("the Job failed"))

    started = time.monotonic()
    with pytest.raises(ValueError, match="the Job failed"):
        wait_for(condition, timeout=30, interval=0.01)
    assert time.monotonic() - started < 5


def test_a_timeout_says_what_was_awaited_and_the_last_error() -> None:
    def condition() -> bool:
        raise ConnectionError("refused")

    with pytest.raises(TimeoutError) as caught:
        wait_for(condition, timeout=0.2, interval=0.05, what="the API", describe=lambda: "events")
    assert str(caught.value) == (
        "timed out after 0s waiting for the API; last error: ConnectionError('refused')\nevents"
    )


def test_a_server_that_exits_fails_at_once_with_its_log() -> None:
    server = ServerProcess({"MLSERVE_SERVER__LOG_LEVEL": "loud"}, timeout=60)
    started = time.monotonic()
    with pytest.raises(RuntimeError) as caught:
        server.start()
    assert time.monotonic() - started < 30
    assert "server exited with" in str(caught.value)
    assert "MLSERVE_SERVER__LOG_LEVEL" in str(caught.value)  # from the server's own log
    assert server.process is not None
    assert server.process.poll() is not None


def test_secrets_dir_is_laid_out_like_the_mounted_secret(tmp_path: Path) -> None:
    made = SecretsDir.create(tmp_path / "secrets")
    assert (made.path / "auth__api_keys").read_text() == made.api_key + "\n"
    assert (made.path / "auth__monitoring_token").read_text() == made.monitoring_token + "\n"
    assert made.api_key != made.monitoring_token
    assert len(made.api_key) >= 24
    assert stat.S_IMODE((made.path / "auth__api_keys").stat().st_mode) == 0o600
    assert SecretsDir.create(tmp_path / "other").api_key != made.api_key
