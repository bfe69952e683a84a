"""Model sources: where a model comes from (a directory today, an MLflow registry too).

A source answers two questions: which version is current (cheap, polled) and give me that version
(expensive). The server's loader only talks to this protocol.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from .bundle import Bundle, load_bundle
from .errors import ConfigurationError
from .registry import resolve_bundle_path
from .settings import Settings


@runtime_checkable
class ModelSource(Protocol):
    """Something that can tell the current model version and load it."""

    description: str

    def current_version(self) -> str:
        """The version the source would load now (cheap; used for polling)."""
        ...

    def load(self) -> Bundle:
        """Load the current version."""
        ...


class DirectorySource:
    """A bundle directory, or a registry directory whose ``current`` pointer is followed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.description = f"directory {self.path}"

    def current_version(self) -> str:
        from .bundle import read_metadata

        return read_metadata(resolve_bundle_path(self.path)).version

    def load(self) -> Bundle:
        return load_bundle(resolve_bundle_path(self.path))


def build_sources(settings: Settings) -> list[ModelSource]:
    """The sources named by the settings, in ``model.resolution`` order."""
    sources: list[ModelSource] = []
    for kind in settings.model.resolution:
        if kind == "bundle" and settings.model.path is not None:
            sources.append(DirectorySource(settings.model.path))
    if not sources:
        raise ConfigurationError(
            "no model source configured: set MLSERVE_MODEL__PATH to a bundle or registry directory"
        )
    return sources
