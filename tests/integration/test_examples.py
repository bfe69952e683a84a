"""Every example's client runs against its served model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_mlserve.testing import ServerProcess

from .conftest import API_KEYS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_client(example: str, server: ServerProcess, *args: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / example / "client.py"),
            *args,
            "--url",
            server.url,
            "--api-key",
            API_KEYS[0],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_example_clients(example_server: tuple[str, ServerProcess], data_dir: Path) -> None:
    name, server = example_server
    if name == "iris":
        out = run_client("iris", server, "6.7", "3.0", "5.2", "2.3")
        assert re.fullmatch(r"species: virginica \(\d+%\), model v1 \(rf\)\n", out)
    elif name == "diabetes":
        out = run_client("diabetes", server, "--glucose", "197", "--bmi", "45.0")
        assert re.fullmatch(r"diabetic: probability \d+\.\d%, risk (moderate|high)\n", out)
    else:
        out = run_client(
            "churn", server, str(data_dir / "telco-customer-churn.csv"), "--limit", "5"
        )
        lines = out.splitlines()
        assert len(lines) == 5
        assert all(
            re.fullmatch(r"\S+: churn \d+\.\d% \((low|medium|high)\)", line) for line in lines
        )
