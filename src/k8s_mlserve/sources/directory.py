"""A bundle directory, or a registry directory whose ``current`` pointer is followed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..model.bundle import METADATA_FILE, MODEL_FILE, Bundle, load_bundle, read_metadata
from ..model.registry import resolve_bundle_path


class DirectorySource:
    """A bundle directory, or a registry directory whose ``current`` pointer is followed.

    A bundle written with another scikit-learn major.minor than the installed one is refused
    (``LibraryMismatchError``) unless ``allow_version_mismatch``; then it loads with a warning.
    A bundle that failed to load (bad sha256, unpickling error, library mismatch, ...) is
    remembered by its digest (``bundle_digest``) and refused again with the same error, without
    reading or unpickling it, until its files change. Errors reading the disk are not remembered.
    With ``defer_pickle`` a bundle whose compiled model can serve it alone is loaded without
    unpickling ``model.joblib`` (see ``load_bundle``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        allow_version_mismatch: bool = False,
        defer_pickle: bool = False,
    ) -> None:
        self.path = Path(path)
        self.allow_version_mismatch = allow_version_mismatch
        self.defer_pickle = defer_pickle
        self.description = f"directory {self.path}"
        self._failed: tuple[str, Exception] | None = None

    def current_version(self) -> str:
        return read_metadata(resolve_bundle_path(self.path)).version

    def load(self) -> Bundle:
        bundle_dir = resolve_bundle_path(self.path)
        digest = bundle_digest(bundle_dir)
        if self._failed is not None and self._failed[0] == digest:
            raise self._failed[1].with_traceback(None)
        try:
            bundle = load_bundle(
                bundle_dir,
                strict_versions=not self.allow_version_mismatch,
                defer_pickle=self.defer_pickle,
            )
        except OSError:
            raise  # a disk or permission problem may go away without the bundle changing
        except Exception as exc:
            self._failed = (digest, exc)
            raise
        self._failed = None
        return bundle


def bundle_digest(bundle_dir: Path) -> str:
    """What identifies a bundle's content cheaply: its path, metadata.json, model.joblib's stat."""
    digest = hashlib.sha256(os.fsencode(bundle_dir.resolve()))
    digest.update(b"\0")
    digest.update((bundle_dir / METADATA_FILE).read_bytes())
    model = (bundle_dir / MODEL_FILE).stat()
    digest.update(f"\0{model.st_size}:{model.st_mtime_ns}:{model.st_ino}".encode())
    return digest.hexdigest()
