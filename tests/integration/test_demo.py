"""`k8s-mlserve demo` trains iris, serves it, and the curl line it prints works."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from k8s_mlserve.testing import free_port, wait_for

pytestmark = pytest.mark.integration


def test_demo_serves_iris_and_its_key_works(tmp_path: Path) -> None:
    port = free_port()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "k8s_mlserve",
                "demo",
                "--workdir",
                str(tmp_path),
                "--port",
                str(port),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(
                lambda: httpx.get(f"{url}/ready", timeout=2).status_code == 200,
                timeout=60,
                what="the demo to be ready",
            )
            output.seek(0)
            printed = output.read().decode()
            match = re.search(r"curl -s -X POST (\S+)/predict .*-H 'X-API-Key: (\S+)'", printed)
            assert match, printed
            assert match.group(1) == url
            row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
            answer = httpx.post(
                f"{url}/predict", json=row, headers={"X-API-Key": match.group(2)}, timeout=10
            )
            assert answer.status_code == 200
            assert answer.json()["label"] == "setosa"
            assert httpx.post(f"{url}/predict", json=row, timeout=10).status_code == 401
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
    assert (tmp_path / "secrets" / "auth__api_keys").stat().st_mode & 0o077 == 0
