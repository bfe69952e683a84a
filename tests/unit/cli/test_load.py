"""``k8s-mlserve load``: arguments, the checks made before locust starts, and the summary.

Runs against a real server are in ``tests/integration/test_loadtest.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from k8s_mlserve.cli import build_parser, main
from k8s_mlserve.cli.load import (
    LOCUSTFILE,
    LoadSummary,
    child_environment,
    locust_command,
    read_summary,
    server_problem,
)
from k8s_mlserve.testing import free_port


def parse(*argv: str) -> argparse.Namespace:
    return build_parser(["load", *argv]).parse_args(["load", *argv])


def test_defaults_and_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSERVE_API_KEY", "key-from-env")
    args = parse("http://127.0.0.1:8000")
    assert (args.users, args.spawn_rate, args.run_time) == (10, 10.0, "30s")
    assert (args.batch_size, args.single_weight, args.batch_weight) == (16, 3, 1)
    assert args.api_key == "key-from-env"
    assert args.csv is None
    assert args.html is None
    assert args.bundle is None


@pytest.mark.parametrize("span", ["20", "45s", "3m", "2h", "1h30m", "1m5s"])
def test_run_times_locust_takes_are_accepted(span: str) -> None:
    assert parse("http://x", "--run-time", span).run_time == span


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--users", "0"], "argument --users/-u: must be at least 1, got 0"),
        (["--users", "many"], "argument --users/-u: expected a whole number, got 'many'"),
        (["--spawn-rate", "0"], "argument --spawn-rate/-r: must be positive, got 0"),
        (["--run-time", "5 minutes"], "argument --run-time/-t: expected seconds or a span"),
        (["--run-time", "0s"], "argument --run-time/-t: expected seconds or a span"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1"),
        (["--batch-weight", "-1"], "argument --batch-weight: must not be negative"),
    ],
)
def test_impossible_numbers_are_refused_by_the_parser(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["load", "http://127.0.0.1:8000", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["127.0.0.1:8000"], "URL must be an http(s) base URL such as http://127.0.0.1:8000"),
        (["ftp://host/"], "URL must be an http(s) base URL"),
        (
            ["http://x", "--single-weight", "0", "--batch-weight", "0"],
            "--single-weight and --batch-weight must not both be 0",
        ),
        (["http://x", "--bundle", "no/such/dir"], "--bundle no/such/dir is not a directory"),
    ],
)
def test_bad_arguments_exit_2_before_anything_is_contacted(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load", *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_locust_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "locust", None)  # what `import locust` meets when absent
    assert main(["load", "http://127.0.0.1:8000"]) == 2
    err = capsys.readouterr().err
    assert "locust" in err
    assert "k8s-mlserve[load]" in err


def test_an_unreachable_server_exits_2_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["load", url, "--timeout", "5"]) == 2
    assert f"error: cannot reach {url}" in capsys.readouterr().err


def _answering(status: int, body: object) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/ready"
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def test_a_ready_server_passes_the_check() -> None:
    transport = _answering(200, {"status": "ready", "model_version": "v1"})
    assert server_problem("http://server", transport=transport) is None


def test_a_server_without_a_model_is_not_loaded() -> None:
    transport = _answering(503, {"status": "not ready", "reason": "the model is still loading"})
    problem = server_problem("http://server", transport=transport)
    assert problem == "http://server is not ready: the model is still loading"


def test_another_kind_of_server_is_named_as_such() -> None:
    problem = server_problem("http://server", transport=_answering(404, {"detail": "Not Found"}))
    assert problem == (
        "http://server does not answer like a k8s-mlserve server: GET /ready gave 404, expected 200"
    )


def test_locust_runs_the_packaged_users_with_every_option(tmp_path: Path) -> None:
    args = parse(
        "http://server:8000",
        "--api-key",
        "secret-key",
        *("--users", "4", "--spawn-rate", "2.5", "--run-time", "1m"),
        *("--csv", str(tmp_path / "run"), "--html", str(tmp_path / "report.html")),
        *("--bundle", str(tmp_path), "--batch-size", "8"),
        *("--single-weight", "0", "--batch-weight", "2"),
    )
    command = locust_command("http://server:8000", args, tmp_path / "totals.json")
    assert command[:5] == [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    assert LOCUSTFILE.is_file()
    assert "--headless" in command
    options = dict(itertools.pairwise(command[5:]))
    assert options["--host"] == "http://server:8000"
    assert (options["--users"], options["--spawn-rate"], options["--run-time"]) == (
        "4",
        "2.5",
        "1m",
    )
    assert options["--csv"] == str(tmp_path / "run")
    assert options["--html"] == str(tmp_path / "report.html")
    assert options["--summary-file"] == str(tmp_path / "totals.json")
    assert options["--bundle"] == str(tmp_path)
    assert (options["--batch-size"], options["--single-weight"], options["--batch-weight"]) == (
        "8",
        "0",
        "2",
    )
    assert not any("secret-key" in part for part in command)


def test_the_key_travels_in_the_environment_and_stray_settings_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCUST_BUNDLE", "/somewhere/else")
    monkeypatch.setenv("LOCUST_API_KEY", "an-old-key")
    env = child_environment("secret-key")
    assert env["LOCUST_API_KEY"] == "secret-key"
    assert "LOCUST_BUNDLE" not in env
    assert "LOCUST_API_KEY" not in child_environment(None)


def test_the_summary_reads_the_totals_locust_wrote(tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    path.write_text(
        json.dumps(
            {"requests": 200, "failures": 5, "rps": 66.66, "p50_ms": 12, "p95_ms": 40, "p99_ms": 90}
        )
    )
    summary = read_summary(path)
    assert summary == LoadSummary(200, 5, 66.66, 12.0, 40.0, 90.0)
    assert summary.render() == (
        "200 requests, 5 failures, 66.7 req/s, p50 12 ms, p95 40 ms, p99 90 ms"
    )
    assert read_summary(tmp_path / "missing.json") is None
    path.write_text("{}")
    assert read_summary(path) is None


def test_help_imports_neither_locust_nor_httpx() -> None:
    code = (
        "import sys, json, contextlib, io\n"
        "from k8s_mlserve.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['load', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(m for m in ('locust', 'gevent', 'httpx') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
