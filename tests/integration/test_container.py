"""The server image, run the way the Deployment runs it: non-root, read-only root filesystem,
bundle and API key mounted read-only; then stopped with SIGTERM."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from k8s_mlserve.__version__ import __version__
from k8s_mlserve.manifests.contract import UID
from k8s_mlserve.testing import wait_for
from k8s_mlserve.testing.images import (
    LOCAL_BASE_IMAGE,
    build_server_image,
    docker_problem,
    image_exists,
    image_size,
)

pytestmark = [pytest.mark.integration, pytest.mark.docker]
ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE_SCRIPT = ROOT.parent / "shared" / "realcluster" / "base-image.sh"
API_KEY = "container-key-0123456789"


def docker(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def server_image() -> Iterator[str]:
    problem = docker_problem()
    if problem:
        pytest.skip(f"container test needs Docker: {problem}")
    base = None
    if image_exists(LOCAL_BASE_IMAGE):
        base = LOCAL_BASE_IMAGE
    elif BASE_IMAGE_SCRIPT.is_file():  # no image can be pulled here: build a local Debian base
        subprocess.run(["bash", str(BASE_IMAGE_SCRIPT), LOCAL_BASE_IMAGE], check=True, timeout=900)
        base = LOCAL_BASE_IMAGE
    tag = f"k8s-mlserve-test:{__version__}-{uuid.uuid4().hex[:8]}"
    build_server_image(ROOT, tag, base_image=base)
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


@pytest.fixture
def mounted(tmp_path: Path, registries: dict[str, Path]) -> tuple[Path, Path]:
    """A bundle and a secrets directory readable by the image's uid, as volumes would be."""
    models = tmp_path / "models"
    shutil.copytree(registries["iris"], models / "iris")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "auth__api_keys").write_text(API_KEY + "\n")
    for path in (tmp_path, *tmp_path.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return models, secrets


def test_image_runs_like_the_deployment(
    server_image: str, mounted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    models, secrets = mounted
    container = docker(
        "run",
        "--detach",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--volume",
        f"{models}:/models:ro",
        "--volume",
        f"{secrets}:/etc/k8s-mlserve/secrets:ro",
        "--env",
        "MLSERVE_MODEL__PATH=/models/iris",
        "--env",
        "MLSERVE_SECRETS_DIR=/etc/k8s-mlserve/secrets",
        "--env",
        "MLSERVE_SERVER__SHUTDOWN_TIMEOUT=10",
        "--publish",
        "127.0.0.1::8000",
        server_image,
    )
    try:
        port = docker("port", container, "8000").splitlines()[0].rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: httpx.get(f"{url}/ready", timeout=2).status_code == 200,
            timeout=90,
            what="/ready in the container",
            describe=lambda: docker("logs", container),
        )
        assert docker("exec", container, "id", "-u") == str(UID)
        assert docker("inspect", "--format", "{{.Config.User}}", server_image) == f"{UID}:{UID}"
        row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
        ok = httpx.post(f"{url}/predict", json=row, headers={"X-API-Key": API_KEY}, timeout=10)
        assert ok.status_code == 200
        assert ok.json()["label"] == "setosa"
        assert httpx.post(f"{url}/predict", json=row, timeout=10).status_code == 401
        started = time.monotonic()
        docker("stop", "--time", "30", container, timeout=60)  # SIGTERM, SIGKILL after 30 s
        stopped_after = time.monotonic() - started
        assert docker("inspect", "--format", "{{.State.ExitCode}}", container) == "0"
        assert stopped_after < 30
        logs = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, check=False
        )
        assert "SIGTERM: readiness off" in logs.stdout + logs.stderr
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
    size = image_size(server_image)
    with capsys.disabled():
        print(f"\n[image] {server_image}: {size / 1e6:.0f} MB, stopped in {stopped_after:.1f}s")
