"""End-to-end suites: every example on a real cluster (see docs/e2e.md).

The cluster, the server image and the deployed stacks come from the k8s-mlserve pytest plugin
(``mlserve_cluster``, ``mlserve_image``, ``mlserve_deploy``). Without a configured cluster every
test here skips, saying what is missing.

Images for PostgreSQL and MLflow default to the official ones; ``K8S_MLSERVE_POSTGRES_IMAGE=build``
and ``K8S_MLSERVE_MLFLOW_IMAGE=build`` build them on a local Debian base instead (for clusters
that cannot pull) and load them with the plugin's image loader.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.testing.images import image_exists
from k8s_mlserve.testing.loader import ImageLoader

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BASE_IMAGE_SCRIPT = ROOT.parent / "shared" / "realcluster" / "base-image.sh"
OFFICIAL_POSTGRES = "postgres:16"
OFFICIAL_MLFLOW = "ghcr.io/mlflow/mlflow:v2.17.2"
LOCAL_PYTHON_BASE = "local/debian-python:bookworm"
LOCAL_POSTGRES_BASE = "local/debian-postgres:bookworm"

# A two-core node: keep requests small so that several stacks and rollouts fit at once.
SMALL: dict[str, Any] = {
    "api": {
        "resources": {
            "requests": {"cpu": "25m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "768Mi"},
        }
    },
    "training": {
        "resources": {
            "requests": {"cpu": "50m", "memory": "256Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        }
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _digest(context: Path) -> str:
    """A short hash of a build context, so that a changed Dockerfile gets a new tag."""
    digest = hashlib.sha256()
    for item in sorted(context.iterdir()):
        digest.update(item.name.encode() + item.read_bytes())
    return digest.hexdigest()[:10]


def _build(tag: str, context: Path, *, build_args: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="e2e-image-") as tmp:
        staged = Path(tmp)
        for item in context.iterdir():
            shutil.copy2(item, staged / item.name)
        cert = os.environ.get("PIP_CERT")
        if cert and Path(cert).is_file():
            shutil.copy2(cert, staged / "build-ca.crt")
        command = ["docker", "build", "--tag", tag]
        for key, value in build_args.items():
            command += ["--build-arg", f"{key}={value}"]
        result = subprocess.run(
            [*command, str(staged)], capture_output=True, text=True, timeout=1800, check=False
        )
        if result.returncode != 0:
            pytest.fail(f"building {tag} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def _base(tag: str, packages: str = "") -> None:
    if image_exists(tag):
        return
    if not BASE_IMAGE_SCRIPT.is_file():
        pytest.fail(f"{tag} is missing and {BASE_IMAGE_SCRIPT} is not there to build it")
    env = {**os.environ, "REALCLUSTER_BASE_PACKAGES": packages} if packages else None
    subprocess.run(["bash", str(BASE_IMAGE_SCRIPT), tag], check=True, timeout=1200, env=env)


@pytest.fixture(scope="session")
def postgres_image(mlserve_image_loader: ImageLoader) -> str:
    """PostgreSQL for the MLflow stack: official, or built locally (``build``) and loaded."""
    wanted = os.environ.get("K8S_MLSERVE_POSTGRES_IMAGE", OFFICIAL_POSTGRES)
    if wanted != "build":
        return wanted
    tag = f"local/postgres:15-e2e-{_digest(HERE / 'images' / 'postgres')}"
    if not image_exists(tag):
        _base(LOCAL_POSTGRES_BASE, "postgresql")
        _build(tag, HERE / "images" / "postgres", build_args={"BASE_IMAGE": LOCAL_POSTGRES_BASE})
    mlserve_image_loader.load(tag)
    return tag


@pytest.fixture(scope="session")
def mlflow_image(mlserve_image_loader: ImageLoader) -> str:
    """The MLflow tracking server: official, or built locally (``build``) and loaded."""
    wanted = os.environ.get("K8S_MLSERVE_MLFLOW_IMAGE", OFFICIAL_MLFLOW)
    if wanted != "build":
        return wanted
    import mlflow

    tag = f"local/mlflow:{mlflow.__version__}-e2e-{_digest(HERE / 'images' / 'mlflow')}"
    if not image_exists(tag):
        _base(LOCAL_PYTHON_BASE)
        _build(
            tag,
            HERE / "images" / "mlflow",
            build_args={"BASE_IMAGE": LOCAL_PYTHON_BASE, "MLFLOW_VERSION": mlflow.__version__},
        )
    mlserve_image_loader.load(tag)
    return tag
