"""A plain ``pip install k8s-mlserve`` installs what docs/install.md lists, no more, and serves.

The list is the footprint users pay for in every serving image: a new hard dependency (ours, or
one a dependency starts pulling in) fails here until docs/install.md records it on purpose.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from k8s_mlserve.testing import StopWaiting, free_port, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# What a virtual environment holds before anything is installed into it.
VENV_TOOLS = {"pip", "setuptools", "wheel"}


def documented_footprint() -> set[str]:
    text = (ROOT / "docs" / "install.md").read_text()
    block = text.split("<!-- footprint:start -->")[1].split("<!-- footprint:end -->")[0]
    return set(re.findall(r"^- (\S+)$", block, re.MULTILINE))


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with k8s-mlserve installed without extras, the way README's
    Install section does it without a package index: from a directory of wheels built here."""
    root = tmp_path_factory.mktemp("plain")
    wheels, venv = root / "wheels", root / "venv"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    offline = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    install = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            "k8s-mlserve",
        ],
        capture_output=True,
        text=True,
        env=offline | {"PIP_CONFIG_FILE": os.devnull},
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


def _distributions(venv: Path) -> set[str]:
    listing = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, json;"
            "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {re.sub(r"[-_.]+", "-", name).lower() for name in json.loads(listing.stdout)}


def test_a_plain_install_brings_exactly_the_documented_distributions(plain_venv: Path) -> None:
    installed = _distributions(plain_venv) - VENV_TOOLS - {"k8s-mlserve"}
    documented = documented_footprint()
    assert "kubernetes" not in installed
    assert installed - documented == set(), (
        "new hard dependencies: add them to docs/install.md on purpose, or keep them out"
    )
    assert documented - installed == set(), "docs/install.md lists what is no longer installed"


def test_a_command_that_needs_an_extra_names_it(plain_venv: Path) -> None:
    spec = ROOT / "examples" / "iris" / "deploy.yaml"
    result = subprocess.run(
        [str(plain_venv / "bin" / "k8s-mlserve"), "manifests", str(spec)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "pip install 'k8s-mlserve[k8s]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    library = subprocess.run(
        [str(plain_venv / "bin" / "python"), "-c", "from k8s_mlserve.manifests import render"],
        capture_output=True,
        text=True,
    )
    assert "k8s_mlserve.errors.MissingExtraError" in library.stderr
    assert "pip install 'k8s-mlserve[k8s]'" in library.stderr


def test_a_plain_install_trains_and_serves_iris(plain_venv: Path, tmp_path: Path) -> None:
    bin_dir = plain_venv / "bin"
    models = tmp_path / "models" / "iris"
    subprocess.run(
        [str(bin_dir / "k8s-mlserve"), "train", "iris", "--output", str(models)],
        check=True,
        capture_output=True,
    )
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "auth__api_keys").write_text("plain-install-key\n")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLSERVE_")} | {
        "MLSERVE_SECRETS_DIR": str(secrets)
    }
    server = subprocess.Popen(
        [str(bin_dir / "k8s-mlserve"), "serve", "--bundle", str(models), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if server.poll() is not None:
                assert server.stderr is not None
                raise StopWaiting(RuntimeError(f"the server exited: {server.stderr.read()!r}"))
            return httpx.get(f"{url}/ready", timeout=2).status_code == 200

        wait_for(ready, timeout=90, what="the plain install's server to be ready")
        row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
        answer = httpx.post(
            f"{url}/predict", json=row, headers={"X-API-Key": "plain-install-key"}, timeout=10
        )
        assert answer.status_code == 200
        assert answer.json()["label"] == "setosa"
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
        assert server.stderr is not None
        server.stderr.close()
        assert code == 0
