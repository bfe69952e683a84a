"""Building a model project's image: the build context, then ``docker build``.

The context holds the Dockerfile (``manifests.dockerfile``), the k8s-mlserve wheel, the project's
``requirements.txt``, ``constraints.txt`` pinning the libraries the bundle was trained with, a
CA bundle for pip when this machine needs one (builder stage only), and, to bake the model into
the image, the bundle as ``model/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError
from ..manifests.dockerfile import (
    CA_FILE,
    CONSTRAINTS_FILE,
    MODEL_DIR,
    REQUIREMENTS_FILE,
    WHEELS_DIR,
    render_dockerfile,
    wheel_name,
)
from ..model.bundle import pinned_requirements, read_metadata
from ..model.registry import resolve_bundle_path
from .docker import Progress, docker_build, pip_ca_bundle
from .wheel import build_wheel, is_package, resolve_wheel, wheel_version


@dataclass(frozen=True)
class ImageRecipe:
    """What goes into a model image; ``build_image`` turns it into one."""

    tag: str
    project: Path | None = None
    wheel: Path | None = None
    requirements: Path | None = None
    bundle: Path | None = None
    pins_from: Path | None = None
    base_image: str | None = None
    extras: str = ""
    ca_bundle: Path | None = None
    extra_pins: tuple[str, ...] = field(default_factory=tuple)

    def requirements_file(self) -> Path | None:
        if self.requirements is not None:
            if not self.requirements.is_file():
                raise ConfigurationError(f"--requirements: {self.requirements} does not exist")
            return self.requirements
        if self.project is not None and (self.project / REQUIREMENTS_FILE).is_file():
            return self.project / REQUIREMENTS_FILE
        return None

    def pins(self) -> list[str]:
        """``constraints.txt`` lines: the libraries recorded in the bundle, then extra pins."""
        source = self.pins_from or self.bundle
        pins: list[str] = []
        if source is not None:
            pins = pinned_requirements(read_metadata(resolve_bundle_path(source)))
        return [*pins, *self.extra_pins]


def copy_readable(source: Path, target: Path) -> None:
    """Copy a bundle or registry so that any uid can read it in the image (files 0644, dirs
    0755): directories made with mkdtemp are 0700, and the server does not run as their owner."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".staging.*", "__pycache__"))
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def assemble_context(recipe: ImageRecipe, context: Path, *, say: Progress) -> None:
    """Write the build context of ``recipe`` into the empty directory ``context``."""
    for option, path in (("--bundle", recipe.bundle), ("--pins-from", recipe.pins_from)):
        if path is not None and not path.is_dir():
            raise ConfigurationError(f"{option}: {path} is not a bundle or registry directory")
    requirements = recipe.requirements_file()
    wheels = context / WHEELS_DIR
    wheels.mkdir()
    wheel, how = resolve_wheel(recipe.wheel, recipe.project, context / ".wheel-build")
    shutil.copy2(wheel, wheels / wheel_name(wheel_version(wheel)))
    shutil.rmtree(context / ".wheel-build", ignore_errors=True)
    say(f"k8s-mlserve: {how}")
    if recipe.project is not None and is_package(recipe.project):
        project_wheel = build_wheel(recipe.project, context / ".project-build", kind="project")
        shutil.copy2(project_wheel, wheels / project_wheel.name)
        shutil.rmtree(context / ".project-build", ignore_errors=True)
        say(f"project: {project_wheel.name}")
    if requirements is not None:
        shutil.copy2(requirements, context / REQUIREMENTS_FILE)
        say(f"requirements: {requirements}")
    pins = recipe.pins()
    (context / CONSTRAINTS_FILE).write_text("".join(f"{p}\n" for p in pins), encoding="utf-8")
    if pins:
        say(f"pinned: {', '.join(pins)}")
    if recipe.bundle is not None:
        resolve_bundle_path(recipe.bundle)  # a bundle or a registry, else a clear error
        copy_readable(recipe.bundle, context / MODEL_DIR)
        say(f"model baked in: {recipe.bundle}")
    ca_bundle = recipe.ca_bundle or pip_ca_bundle()
    if ca_bundle is not None:
        shutil.copy2(ca_bundle, context / CA_FILE)
    dockerfile = render_dockerfile(
        base_image=recipe.base_image or "python:3.11-slim-bookworm",
        bake_model=recipe.bundle is not None,
        version=wheel_version(wheel),
    )
    (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")


def build_image(
    recipe: ImageRecipe,
    *,
    progress: Progress | None = None,
    timeout: float = 1800,
) -> str:
    """Build the image of ``recipe``; returns its tag. ``progress`` receives what happens."""
    say: Callable[[str], None] = progress or (lambda _line: None)
    with tempfile.TemporaryDirectory(prefix="mlserve-image-") as tmp:
        context = Path(tmp)
        assemble_context(recipe, context, say=say)
        args = {}
        if recipe.base_image:
            args["BASE_IMAGE"] = recipe.base_image
        if recipe.extras:
            args["EXTRAS"] = recipe.extras
        say(f"docker build --tag {recipe.tag}")
        return docker_build(context, recipe.tag, build_args=args, progress=say, timeout=timeout)
