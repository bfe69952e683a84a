"""A bundle directory, or a registry directory whose ``current`` pointer is followed."""

from __future__ import annotations

import os
from pathlib import Path

from ..model.bundle import Bundle, load_bundle, read_metadata
from ..model.registry import resolve_bundle_path


class DirectorySource:
    """A bundle directory, or a registry directory whose ``current`` pointer is followed.

    A bundle written with another scikit-learn major.minor than the installed one is refused
    (``LibraryMismatchError``) unless ``allow_version_mismatch``; then it loads with a warning.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, allow_version_mismatch: bool = False
    ) -> None:
        self.path = Path(path)
        self.allow_version_mismatch = allow_version_mismatch
        self.description = f"directory {self.path}"

    def current_version(self) -> str:
        return read_metadata(resolve_bundle_path(self.path)).version

    def load(self) -> Bundle:
        return load_bundle(
            resolve_bundle_path(self.path), strict_versions=not self.allow_version_mismatch
        )
