"""The images of the generated MLflow stack, built from the Dockerfiles shipped in this package.

``mlflow``: the MLflow tracking server with the PostgreSQL driver, at the MLflow version the
manifests reference by default. ``postgres``: PostgreSQL keeping the official image's contract,
for clusters that cannot pull ``postgres:16``.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Final

from ..manifests.contract import DEFAULT_MLFLOW_IMAGE, MLFLOW_SERVER_VERSION
from .docker import Progress, docker_build, pip_ca_bundle

LOCAL_POSTGRES_IMAGE: Final = "k8s-mlserve-postgres:15"
STACK_IMAGES: Final = ("mlflow", "postgres")


def _context(name: str, target: Path) -> None:
    source = resources.files("k8s_mlserve.delivery") / "images" / name
    for item in source.iterdir():
        if item.is_file():
            (target / item.name).write_bytes(item.read_bytes())
    ca_bundle = pip_ca_bundle()
    if ca_bundle is not None and name == "mlflow":
        shutil.copy2(ca_bundle, target / "build-ca.crt")


def build_stack_image(
    name: str,
    *,
    tag: str | None = None,
    base_image: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Build the ``mlflow`` or ``postgres`` image; returns its tag."""
    if name not in STACK_IMAGES:
        raise ValueError(f"no stack image named {name!r}; choose one of {', '.join(STACK_IMAGES)}")
    args: dict[str, str] = {}
    if base_image:
        args["BASE_IMAGE"] = base_image
    if name == "mlflow":
        args["MLFLOW_VERSION"] = MLFLOW_SERVER_VERSION
        tag = tag or DEFAULT_MLFLOW_IMAGE
    else:
        tag = tag or LOCAL_POSTGRES_IMAGE
    with tempfile.TemporaryDirectory(prefix=f"mlserve-{name}-") as tmp:
        _context(name, Path(tmp))
        return docker_build(Path(tmp), tag, build_args=args, progress=progress)
