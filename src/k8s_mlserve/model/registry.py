"""A registry directory: several versions of one model and a pointer to the current one.

Layout::

    <registry>/
      current              the name of the current version (one line)
      versions/<version>/  one bundle per version

Publishing writes the bundle beside its final place and renames it in, then moves the pointer by
renaming a freshly written file over ``current``: a reader sees the old state or the new one.
Files and directories are fsynced before each rename and the parent directory after it.

Files are created 0644 and directories 0755, masked by the publisher's umask, so a server running
as another user (same group or not) can read what was published; set ``umask 027`` in the
publisher to keep users outside the group out. Staging debris a killed publisher left
(``versions/.staging.*``, ``versions/.<version>.*``, ``.current.*``) is removed by the next
``publish`` once nothing in it changed for ``files.STALE_AFTER_SECONDS`` (10 minutes), so the
staging directory of a concurrent publisher is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import BundleError, BundleNotFoundError
from .bundle import Bundle, is_bundle, load_bundle
from .files import fsync_dir, fsync_tree, make_temp_dir, remove_stale, write_durably

CURRENT_FILE = "current"
VERSIONS_DIR = "versions"
STAGING_PREFIX = ".staging."
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_DIGITS = re.compile(r"(\d+)")


def _natural_key(version: str) -> list[str | int]:
    """Sort key that puts v2 before v10 (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(version)]


class BundleRegistry:
    """Versions of one model on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @staticmethod
    def is_registry(path: Path) -> bool:
        return (path / CURRENT_FILE).is_file() or (path / VERSIONS_DIR).is_dir()

    def versions(self) -> list[str]:
        versions_dir = self.root / VERSIONS_DIR
        if not versions_dir.is_dir():
            return []
        names = [p.name for p in versions_dir.iterdir() if is_bundle(p)]
        return sorted(names, key=_natural_key)

    def current_version(self) -> str:
        pointer = self.root / CURRENT_FILE
        if not pointer.is_file():
            raise BundleNotFoundError(
                f"{self.root} has no current version (no {CURRENT_FILE} file)"
            )
        version = pointer.read_text().strip()
        if not is_bundle(self.version_path(version)):
            raise BundleNotFoundError(f"{self.root}: current version {version!r} has no bundle")
        return version

    def version_path(self, version: str) -> Path:
        if not _VERSION_RE.match(version):
            raise BundleError(
                f"invalid version {version!r}: use letters, digits, '.', '_' or '-' (max 63)"
            )
        return self.root / VERSIONS_DIR / version

    def current_path(self) -> Path:
        return self.version_path(self.current_version())

    def load_current(self) -> Bundle:
        return load_bundle(self.current_path())

    def staging_dir(self) -> Path:
        """A fresh directory on the registry's filesystem to assemble a bundle in.

        ``publish`` removes it once the bundle built inside has been moved into place.
        """
        self._make_versions_dir()
        return make_temp_dir(self.root / VERSIONS_DIR, STAGING_PREFIX)

    def clean_staging(self, *, max_age: float | None = None) -> list[Path]:
        """Remove staging debris untouched for ``max_age`` seconds (default 10 minutes)."""
        candidates = [p for p in self.root.glob(".current.*") if not p.is_dir()]
        versions_dir = self.root / VERSIONS_DIR
        if versions_dir.is_dir():
            candidates += [p for p in versions_dir.iterdir() if p.name.startswith(".")]
        if max_age is None:
            return remove_stale(candidates)
        return remove_stale(candidates, max_age=max_age)

    def _make_versions_dir(self) -> None:
        for directory in (self.root, self.root / VERSIONS_DIR):
            try:
                os.mkdir(directory, 0o755)
            except FileExistsError:
                continue
            except FileNotFoundError:
                directory.mkdir(mode=0o755, parents=True, exist_ok=True)

    def publish(self, bundle_dir: Path, version: str, *, make_current: bool = True) -> Path:
        """Move a complete bundle in as ``version`` and (by default) make it current."""
        if not is_bundle(bundle_dir):
            raise BundleError(f"{bundle_dir} is not a complete bundle")
        target = self.version_path(version)
        if target.exists():
            raise BundleError(f"version {version!r} already exists in {self.root}")
        self._make_versions_dir()
        self.clean_staging()
        staged_here = bundle_dir.parent.name.startswith(STAGING_PREFIX) and (
            bundle_dir.parent.parent.resolve() == target.parent.resolve()
        )
        fsync_tree(bundle_dir)
        try:
            os.replace(bundle_dir, target)
            if staged_here and not any(bundle_dir.parent.iterdir()):
                bundle_dir.parent.rmdir()
        except OSError:
            # Another filesystem: copy next to the target first, so the final step is a rename.
            staging = self.staging_dir()
            try:
                shutil.copytree(bundle_dir, staging / "b")
                fsync_tree(staging / "b")
                os.replace(staging / "b", target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        fsync_dir(target.parent)
        if make_current:
            self.set_current(version)
        return target

    def set_current(self, version: str) -> None:
        """Point ``current`` at an existing version, atomically."""
        if not is_bundle(self.version_path(version)):
            raise BundleNotFoundError(f"version {version!r} does not exist in {self.root}")
        write_durably(self.root / CURRENT_FILE, (version + "\n").encode())


def resolve_bundle_path(path: str | os.PathLike[str]) -> Path:
    """The bundle a path designates: the path itself, or a registry's current version."""
    candidate = Path(path)
    if is_bundle(candidate):
        return candidate
    if BundleRegistry.is_registry(candidate):
        return BundleRegistry(candidate).current_path()
    if not candidate.exists():
        raise BundleNotFoundError(f"{candidate} does not exist")
    raise BundleNotFoundError(
        f"{candidate} is neither a bundle (metadata.json + model.joblib) nor a registry "
        "(current + versions/)"
    )
