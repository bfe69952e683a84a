"""Building the server image with Docker (the CLI found on PATH; never downloaded)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..manifests.dockerfile import DOCKERIGNORE, render_dockerfile

LOCAL_BASE_IMAGE = "local/debian-python:bookworm"


class DockerUnavailable(RuntimeError):
    """Docker cannot be used here; the message says what is missing."""


def docker_problem() -> str | None:
    """Why Docker cannot be used, or None when the CLI and the daemon both answer."""
    if shutil.which("docker") is None:
        return "the docker CLI is not on PATH"
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"the Docker daemon is not running ({reason})"
    return None


def image_exists(tag: str) -> bool:
    return (
        subprocess.run(
            ["docker", "image", "inspect", tag], capture_output=True, check=False, timeout=60
        ).returncode
        == 0
    )


def image_size(tag: str) -> int:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(out.stdout.strip())


def build_server_image(
    source_root: Path,
    tag: str,
    *,
    base_image: str | None = None,
    extras: str = "",
    ca_bundle: Path | None = None,
    timeout: float = 1800,
) -> str:
    """Build the k8s-mlserve image from a source tree; returns the tag.

    The context holds only what the Dockerfile copies (pyproject, README, src) plus, when given,
    a CA bundle for pip, which only the builder stage sees.
    """
    with tempfile.TemporaryDirectory(prefix="mlserve-image-") as tmp:
        context = Path(tmp)
        shutil.copy2(source_root / "pyproject.toml", context)
        shutil.copy2(source_root / "README.md", context)
        shutil.copytree(
            source_root / "src",
            context / "src",
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
        )
        (context / "Dockerfile").write_text(render_dockerfile("source"))
        return _build(context, tag, base_image, extras, ca_bundle, timeout)


def build_project_image(
    project_root: Path,
    tag: str,
    *,
    base_image: str | None = None,
    extras: str = "",
    ca_bundle: Path | None = None,
    timeout: float = 1800,
) -> str:
    """Build a model project's image: k8s-mlserve from the package index plus the project's
    ``requirements.txt`` when it has one (the Dockerfile ``k8s-mlserve dockerfile`` writes)."""
    with tempfile.TemporaryDirectory(prefix="mlserve-image-") as tmp:
        context = Path(tmp)
        requirements = project_root / "requirements.txt"
        if requirements.is_file():
            shutil.copy2(requirements, context)
        (context / "Dockerfile").write_text(render_dockerfile("pypi"))
        return _build(context, tag, base_image, extras, ca_bundle, timeout)


def _build(
    context: Path,
    tag: str,
    base_image: str | None,
    extras: str,
    ca_bundle: Path | None,
    timeout: float,
) -> str:
    (context / ".dockerignore").write_text(DOCKERIGNORE)
    bundle = ca_bundle or _pip_ca_bundle()
    if bundle is not None:
        shutil.copy2(bundle, context / "build-ca.crt")
    command = ["docker", "build", "--tag", tag]
    if base_image:
        command += ["--build-arg", f"BASE_IMAGE={base_image}"]
    if extras:
        command += ["--build-arg", f"EXTRAS={extras}"]
    result = subprocess.run(
        [*command, str(context)], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise DockerUnavailable(
            f"docker build of {tag} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return tag


def find_source_root() -> Path | None:
    """The k8s-mlserve source tree this package is installed from (editable), if it is."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if (
        pyproject.is_file()
        and (root / "src" / "k8s_mlserve").is_dir()
        and 'name = "k8s-mlserve"' in pyproject.read_text(encoding="utf-8")
    ):
        return root
    return None


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


def _pip_ca_bundle() -> Path | None:
    """The CA bundle pip uses on this machine, if one is configured."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    configured = result.stdout.strip()
    if result.returncode == 0 and configured and Path(configured).is_file():
        return Path(configured)
    return None
