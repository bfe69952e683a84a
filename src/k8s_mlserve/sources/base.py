"""The model source protocol: where a model comes from, as the model manager sees it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..model.bundle import Bundle


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
