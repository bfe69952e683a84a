"""A source that starts from the first of several sources that loads, then follows one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ..errors import ConfigurationError, ModelSourceError
from ..model.bundle import Bundle
from .base import ModelSource

T = TypeVar("T")


class FollowingSource:
    """Starts from the first of several sources that loads, then follows one source.

    Until a load succeeds, ``load`` tries the ``start`` sources in order (e.g. the bundle on a
    volume, the cache, then MLflow) and raises with every reason if none works. After that,
    ``current_version`` and ``load`` ask the ``follow`` source only (e.g. an MLflow alias).
    ``description`` names the source behind the latest call: the one that delivered a bundle, or
    the one that failed.
    """

    START_DESCRIPTION = "model sources"

    def __init__(self, start: Sequence[ModelSource], follow: ModelSource) -> None:
        if not start:
            raise ConfigurationError("a following source needs at least one start source")
        self.start = list(start)
        self.follow = follow
        self.description = self.START_DESCRIPTION
        self.started = False

    def current_version(self) -> str:
        if self.started:
            self.description = self.follow.description
            return self.follow.current_version()
        return self._first(lambda source: source.current_version())

    def load(self) -> Bundle:
        if self.started:
            self.description = self.follow.description
            return self.follow.load()
        bundle = self._first(lambda source: source.load())
        self.started = True
        return bundle

    def _first(self, call: Callable[[ModelSource], T]) -> T:
        errors = []
        for source in self.start:
            try:
                result = call(source)
            except Exception as exc:  # every source is tried; all reasons are reported
                errors.append(f"{source.description}: {exc}")
            else:
                self.description = source.description
                return result
        self.description = self.START_DESCRIPTION
        raise ModelSourceError("; ".join(errors))
