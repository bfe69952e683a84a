"""``k8s-mlserve ui``: the Streamlit command it runs, and where the credentials come from."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_mlserve.cli import build_parser, main
from k8s_mlserve.cli.ui import streamlit_command
from k8s_mlserve.ui import APP_PATH


def _command(*argv: str, environ: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    args = build_parser(["ui", *argv]).parse_args(["ui", *argv])
    return streamlit_command(args, environ or {})


def test_the_page_runs_headless_on_the_asked_address_without_usage_statistics() -> None:
    argv, env = _command("--url", "http://api:8000", "--host", "0.0.0.0", "--port", "9000")
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(APP_PATH)]
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert options["--server.headless"] == "true"
    assert options["--server.address"] == "0.0.0.0"
    assert options["--server.port"] == "9000"
    assert options["--browser.gatherUsageStats"] == "false"
    assert env == {"MLSERVE_UI_URL": "http://api:8000", "MLSERVE_UI_INPUTS": "numbers"}
    assert APP_PATH.is_file()


def test_the_defaults_are_a_local_page_for_a_local_server() -> None:
    argv, env = _command()
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert (options["--server.address"], options["--server.port"]) == ("127.0.0.1", "8501")
    assert env["MLSERVE_UI_URL"] == "http://127.0.0.1:8000"


def test_credentials_come_from_the_secrets_directory_and_never_on_the_command_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "auth__api_keys").write_text("key-one\nkey-two\n")
    (tmp_path / "auth__monitoring_token").write_text("token\n")
    argv, env = _command("--secrets-dir", str(tmp_path), environ={"PATH": "/bin"})
    assert env["MLSERVE_API_KEY"] == "key-one"
    assert env["MLSERVE_UI_MONITORING_TOKEN"] == "token"
    assert env["PATH"] == "/bin"
    assert not any("key-one" in part or part == "token" for part in argv)


def test_an_explicit_key_wins_over_the_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text("key-one\n")
    _, env = _command("--secrets-dir", str(tmp_path), "--api-key", "explicit")
    assert env["MLSERVE_API_KEY"] == "explicit"


def test_stale_page_variables_of_the_caller_are_replaced() -> None:
    _, env = _command(
        environ={
            "MLSERVE_UI_MONITORING_TOKEN": "old",
            "MLSERVE_UI_URL": "x",
            "MLSERVE_UI_INPUTS": "y",
        }
    )
    assert env == {"MLSERVE_UI_URL": "http://127.0.0.1:8000", "MLSERVE_UI_INPUTS": "numbers"}


def test_sliders_are_asked_for_on_the_command_line() -> None:
    _, env = _command("--inputs", "sliders")
    assert env["MLSERVE_UI_INPUTS"] == "sliders"


def test_help_loads_neither_streamlit_nor_pandas() -> None:
    code = (
        "import sys, json, contextlib, io\n"
        "from k8s_mlserve.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['ui', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(m for m in ('streamlit', 'pandas') if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_without_streamlit_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else real(name)
    )
    assert main(["ui"]) == 2
    assert "pip install 'k8s-mlserve[ui]'" in capsys.readouterr().err


def test_a_base_path_serves_the_page_under_it() -> None:
    argv, _ = _command("--base-path", "/ui/")
    assert argv[-2:] == ["--server.baseUrlPath", "ui"]
    assert "--server.baseUrlPath" not in _command()[0]
