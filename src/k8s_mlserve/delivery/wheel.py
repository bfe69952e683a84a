"""The k8s-mlserve wheel an image installs: given, found in a project, or built from source.

No package index is needed for k8s-mlserve itself: the wheel travels in the build context.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..__version__ import __version__
from ..errors import ConfigurationError
from ..manifests.dockerfile import wheel_name

WHEEL_FOLDERS = ("wheels", "dist")
REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip archive can hold


def find_source_root() -> Path | None:
    """The k8s-mlserve source tree this package runs from (an editable install), if it does."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if (
        pyproject.is_file()
        and (root / "src" / "k8s_mlserve").is_dir()
        and 'name = "k8s-mlserve"' in pyproject.read_text(encoding="utf-8")
    ):
        return root
    return None


def is_source_tree(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    return pyproject.is_file() and 'name = "k8s-mlserve"' in pyproject.read_text(encoding="utf-8")


def is_package(path: Path) -> bool:
    """Whether a model project is a Python package pip can build (pyproject.toml or setup.py)."""
    return (path / "pyproject.toml").is_file() or (path / "setup.py").is_file()


def build_wheel(
    source: Path, out_dir: Path, *, kind: str = "k8s-mlserve", timeout: float = 600
) -> Path:
    """Build the wheel of a source tree into ``out_dir`` (``pip wheel --no-deps``): k8s-mlserve's
    (``kind="k8s-mlserve"``) or a model project's (``kind="project"``)."""
    if kind == "k8s-mlserve" and not is_source_tree(source):
        raise ConfigurationError(f"{source} is not a k8s-mlserve source tree (no pyproject.toml)")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out_dir), str(source)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        # Fixed timestamps in the archive: the same source gives the same bytes, so Docker's
        # layer cache keeps the installed libraries when only the model changes.
        env={**os.environ, "SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH},
    )
    if result.returncode != 0:
        raise ConfigurationError(
            f"building the {kind} wheel from {source} failed:\n{result.stderr[-3000:]}"
        )
    pattern = "k8s_mlserve-*.whl" if kind == "k8s-mlserve" else "*.whl"
    wheels = sorted(out_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise ConfigurationError(f"pip wheel {source} wrote no wheel into {out_dir}")
    return wheels[-1]


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's file name (``k8s_mlserve-0.1.0-py3-none-any.whl`` -> 0.1.0)."""
    parts = wheel.name.split("-")
    if len(parts) < 5 or parts[0] != "k8s_mlserve" or wheel.suffix != ".whl":
        raise ConfigurationError(f"{wheel} is not a k8s-mlserve wheel (k8s_mlserve-*.whl)")
    return parts[1]


def resolve_wheel(given: Path | None, project: Path | None, work_dir: Path) -> tuple[Path, str]:
    """The wheel to install and how it was found.

    ``given`` is a wheel file or a k8s-mlserve source tree; else a wheel of this version in the
    project's ``wheels/`` or ``dist/``; else the source tree this package runs from.
    """
    if given is not None:
        if given.is_file():
            wheel_version(given)
            return given, f"wheel {given}"
        if given.is_dir():
            return build_wheel(given, work_dir), f"wheel built from {given}"
        raise ConfigurationError(f"--wheel: {given} is neither a wheel file nor a source tree")
    if project is not None:
        for folder in WHEEL_FOLDERS:
            candidate = project / folder / wheel_name(__version__)
            if candidate.is_file():
                return candidate, f"wheel {candidate}"
    root = find_source_root()
    if root is not None:
        return build_wheel(root, work_dir), f"wheel built from {root}"
    raise ConfigurationError(
        f"no k8s-mlserve wheel: k8s-mlserve {__version__} is not installed from a source tree, "
        f"and neither wheels/ nor dist/ of the project holds {wheel_name(__version__)}. "
        "Pass a wheel or the k8s-mlserve source tree (--wheel PATH to k8s-mlserve build, "
        "--mlserve-wheel or K8S_MLSERVE_WHEEL to the pytest plugin), or run "
        "`pip wheel --no-deps -w wheels PATH-TO-k8s-mlserve` in the project"
    )
