"""Building the server image with Docker for cluster tests (see ``k8s_mlserve.delivery``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..__version__ import __version__
from ..delivery.docker import DockerUnavailable, docker_problem, image_exists, image_size
from ..delivery.image import ImageRecipe, build_image
from ..delivery.wheel import find_source_root
from ..model.bundle import library_versions, pinned_requirements

__all__ = [
    "LOCAL_BASE_IMAGE",
    "DockerUnavailable",
    "build_project_image",
    "build_server_image",
    "docker_problem",
    "environment_pins",
    "find_source_root",
    "image_exists",
    "image_size",
    "project_digest",
    "server_image_tag",
    "source_digest",
]

LOCAL_BASE_IMAGE = "local/debian-python:bookworm"
SERVER_IMAGE_REPOSITORY = "k8s-mlserve-test"


def environment_pins() -> tuple[str, ...]:
    """The libraries a pickled model depends on, pinned to this environment's versions: models
    trained by the test session load in the image (the server refuses a scikit-learn
    major.minor other than the one a bundle records)."""
    return tuple(pinned_requirements({"library_versions": library_versions()}))


def build_server_image(
    source_root: Path,
    tag: str,
    *,
    base_image: str | None = None,
    extras: str = "",
    ca_bundle: Path | None = None,
    timeout: float = 1800,
) -> str:
    """Build the k8s-mlserve image from a source tree (its wheel, no model, this environment's
    model libraries pinned); returns the tag."""
    recipe = ImageRecipe(
        tag=tag,
        wheel=source_root,
        base_image=base_image,
        extras=extras,
        ca_bundle=ca_bundle,
        extra_pins=environment_pins(),
    )
    return build_image(recipe, timeout=timeout)


def server_image_tag(source_root: Path, *, base_image: str | None, extras: str) -> str:
    """The tag of the server image built from ``source_root`` by the test fixtures: by
    content, so that every test needing the same image finds it built."""
    digest = source_digest(source_root, base_image or "", extras, *environment_pins())
    return f"{SERVER_IMAGE_REPOSITORY}:{__version__}-{digest}"


def build_project_image(
    project_root: Path,
    tag: str,
    *,
    wheel: Path | None = None,
    base_image: str | None = None,
    extras: str = "",
    ca_bundle: Path | None = None,
    timeout: float = 1800,
) -> str:
    """Build a model project's image (``k8s-mlserve build``): k8s-mlserve from ``wheel`` (or as
    ``delivery.wheel.resolve_wheel`` finds it), the project (when it is a package) and its
    ``requirements.txt``, with this environment's model libraries pinned."""
    recipe = ImageRecipe(
        tag=tag,
        project=project_root,
        wheel=wheel,
        base_image=base_image,
        extras=extras,
        ca_bundle=ca_bundle,
        extra_pins=environment_pins(),
    )
    return build_image(recipe, timeout=timeout)


_NOT_IN_IMAGE = {
    ".venv",
    ".git",
    "build",
    "models",
    "mlruns",
    "tests",
    "__pycache__",
    ".pytest_cache",
}


def project_digest(project: Path, wheel: Path | None, *extra: str) -> str:
    """A short digest of a model project's image inputs: the project's files (not its virtual
    environment, models or tests), the k8s-mlserve wheel or source tree, the pins and ``extra``."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        parts = path.relative_to(project).parts
        if not path.is_file() or any(p in _NOT_IN_IMAGE or p.endswith(".egg-info") for p in parts):
            continue
        digest.update("/".join(parts).encode() + b"\0" + path.read_bytes() + b"\0")
    if wheel is not None:
        digest.update(wheel.read_bytes() if wheel.is_file() else source_digest(wheel).encode())
    for item in (*environment_pins(), *extra):
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:12]


def source_digest(source_root: Path, *extra: str) -> str:
    """A short digest of what goes into the image (pyproject, README, src) and of ``extra``,
    to tag images by content so that an unchanged tree is not rebuilt."""
    digest = hashlib.sha256()
    paths = [source_root / "pyproject.toml", source_root / "README.md"]
    paths += sorted(
        p
        for p in (source_root / "src").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
        and not any(part.endswith(".egg-info") for part in p.parts)
    )
    for path in paths:
        digest.update(str(path.relative_to(source_root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:12]
