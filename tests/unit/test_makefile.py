"""`make demo` installs only what serving needs and listens where asked; `make test`: dev."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _plan(tmp_path: Path, *arguments: str) -> list[str]:
    """The commands make would run, for a virtual environment that does not exist yet."""
    result = subprocess.run(
        [
            "make",
            "--dry-run",
            "--no-print-directory",
            "-C",
            str(ROOT),
            f"VENV={tmp_path / 'venv'}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_demo_installs_no_extra_and_takes_a_port(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "demo", "PORT=8123", "HOST=0.0.0.0")
    installs = [line for line in plan if " install " in line and "--upgrade pip" not in line]
    assert installs == [f"{tmp_path / 'venv'}/bin/pip install --progress-bar off -e ."]
    assert plan[-1] == f"{tmp_path / 'venv'}/bin/k8s-mlserve demo --host 0.0.0.0 --port 8123"


def test_demo_reuses_a_dev_install(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()  # newer than pyproject.toml
    plan = _plan(tmp_path, "demo")
    assert plan == [f"{venv}/bin/k8s-mlserve demo --host 127.0.0.1 --port 8000"]


def test_the_test_target_installs_the_dev_extra(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "test")
    assert f'{tmp_path / "venv"}/bin/pip install --progress-bar off -e ".[dev]"' in plan
