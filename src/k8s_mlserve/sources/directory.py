"""A bundle directory, or a registry directory whose ``current`` pointer is followed."""

from __future__ import annotations

import os
from pathlib import Path

from ..model.bundle import Bundle, load_bundle, read_metadata
from ..model.registry import resolve_bundle_path


class DirectorySource:
    """A bundle directory, or a registry directory whose ``current`` pointer is followed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.description = f"directory {self.path}"

    def current_version(self) -> str:
        return read_metadata(resolve_bundle_path(self.path)).version

    def load(self) -> Bundle:
        return load_bundle(resolve_bundle_path(self.path))
