"""The load-test tooling against a real local server: the Python entry point, the locustfile run
headless from the command line, and ``k8s-mlserve load``, on the churn model (numeric, categorical
and nullable features)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_mlserve.testing import LoadTestError, ServerProcess, run_load

from .conftest import API_KEYS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NAMES = {"/predict [single]", "/predict [batch]"}
SUMMARY = re.compile(
    r"^(\d+) requests, (\d+) failures, [\d.]+ req/s, p50 \d+ ms, p95 \d+ ms, p99 \d+ ms$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def churn_server(registries: dict[str, Path], secrets_dir: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        {"MLSERVE_MODEL__PATH": str(registries["churn"])},
        secrets_dir=secrets_dir,
        api_key=API_KEYS[0],
    )
    with server:
        yield server


def test_load_entry_point_reports_requests_without_failures(churn_server: ServerProcess) -> None:
    stats = run_load(
        churn_server.url, users=4, spawn_rate=4, duration=3, api_key=API_KEYS[0], batch_size=8
    )
    assert stats.failures == 0, stats.summary()
    assert stats.errors == []
    assert stats.requests > 0, stats.summary()
    assert set(stats.endpoints) == NAMES
    assert sum(e.requests for e in stats.endpoints.values()) == stats.requests
    assert 0 < stats.p50_ms <= stats.p95_ms <= stats.p99_ms
    assert stats.p99_ms <= stats.max_ms + 1  # percentiles are rounded to locust's buckets
    assert stats.duration_s >= 2.5, "the run lasts at least the asked duration"
    assert stats.rps == pytest.approx(stats.requests / stats.duration_s, rel=1e-3)
    assert stats.users == 4


def test_rows_sampled_from_the_bundle_are_valid_and_a_wrong_key_fails_every_request(
    churn_server: ServerProcess, registries: dict[str, Path]
) -> None:
    good = run_load(
        churn_server.url,
        users=2,
        duration=2,
        api_key=API_KEYS[1],
        bundle=registries["churn"],
        single_weight=0,
        batch_weight=1,
    )
    assert good.failures == 0, good.summary()
    assert set(good.endpoints) == {"/predict [batch]"}
    bad = run_load(
        churn_server.url, users=2, duration=2, api_key="not-a-key", bundle=registries["churn"]
    )
    assert bad.requests > 0
    assert bad.failures == bad.requests
    assert any("status 401" in error for error in bad.errors), bad.errors


def test_a_broken_run_raises_with_the_reason(churn_server: ServerProcess, tmp_path: Path) -> None:
    with pytest.raises(LoadTestError, match="does not exist"):
        run_load(churn_server.url, users=1, duration=1, bundle=tmp_path / "no-model")


def test_locustfile_runs_headless_against_a_url(churn_server: ServerProcess) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtests" / "locustfile.py"),
            "--headless",
            "--host",
            churn_server.url,
            "--api-key",
            API_KEYS[0],
            "--users",
            "2",
            "--spawn-rate",
            "2",
            "--run-time",
            "3s",
            "--json",
            "--only-summary",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    entries = json.loads(result.stdout)
    assert {e["name"] for e in entries} == NAMES
    assert sum(e["num_requests"] for e in entries) > 0
    assert sum(e["num_failures"] for e in entries) == 0


def _load(url: str, *options: str, api_key: str) -> subprocess.CompletedProcess[str]:
    """``k8s-mlserve load URL`` for 5 s with 2 users, the key in $MLSERVE_API_KEY."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "k8s_mlserve",
            "load",
            url,
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "5s",
            *options,
        ],
        env={**os.environ, "MLSERVE_API_KEY": api_key},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_load_command_reports_requests_without_failures(
    churn_server: ServerProcess, tmp_path: Path
) -> None:
    result = _load(
        churn_server.url,
        *("--csv", str(tmp_path / "run"), "--html", str(tmp_path / "report.html")),
        api_key=API_KEYS[0],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = SUMMARY.search(result.stdout)
    assert summary, result.stdout
    assert int(summary[1]) > 0
    assert int(summary[2]) == 0
    with (tmp_path / "run_stats.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["Name"] for row in rows} == NAMES | {"Aggregated"}
    assert all(row["Failure Count"] == "0" for row in rows)
    assert "<html" in (tmp_path / "report.html").read_text().lower()


def test_the_load_command_with_a_wrong_key_fails_and_reports_the_failures(
    churn_server: ServerProcess,
) -> None:
    result = _load(churn_server.url, api_key="not-a-key")
    assert result.returncode == 1, result.stderr[-3000:]
    summary = SUMMARY.search(result.stdout)
    assert summary, result.stdout
    assert int(summary[1]) > 0
    assert int(summary[2]) == int(summary[1])
    assert "status 401" in result.stderr  # locust's error report
