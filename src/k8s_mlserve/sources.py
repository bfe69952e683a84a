"""Model sources: where a model comes from (a bundle or registry directory, an MLflow registry).

A source answers two questions: which version is current (cheap, polled) and give me that version
(expensive). The server's loader only talks to this protocol.

``build_sources`` turns the settings into sources. ``model.resolution`` orders the kinds tried at
start: ``bundle`` is ``model.path`` then the MLflow cache (``<model.cache_dir>/<model name>``),
``mlflow`` is ``model.uri``. Without a model URI the directory is the source, polled for a new
``current`` version. With a model URI the result is one ``FollowingSource``: the first start
source that loads is served, and from then on only MLflow is asked, so a bundle served at start
is replaced as soon as the alias points to another version.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from .bundle import Bundle, load_bundle
from .errors import ConfigurationError, ModelSourceError
from .registry import resolve_bundle_path
from .settings import Settings

T = TypeVar("T")


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


def build_sources(settings: Settings) -> list[ModelSource]:
    """The sources named by the settings, in ``model.resolution`` order (see the docstring)."""
    model = settings.model
    follow = None
    if model.uri is not None:
        from .mlflow_source import MLflowSource, use_server_http_defaults

        if not settings.mlflow.tracking_uri:
            raise ConfigurationError(
                f"MLSERVE_MODEL__URI={model.uri} needs an MLflow tracking server: set "
                "MLFLOW_TRACKING_URI (or MLSERVE_MLFLOW__TRACKING_URI)"
            )
        use_server_http_defaults()
        follow = MLflowSource(
            model.uri, tracking_uri=settings.mlflow.tracking_uri, cache_dir=model.cache_dir
        )
    start: list[ModelSource] = []
    for kind in model.resolution:
        if kind == "bundle":
            directories = [model.path, follow.cache_path if follow is not None else None]
            for path in dict.fromkeys(p for p in directories if p is not None):
                start.append(DirectorySource(path))
        elif kind == "mlflow" and follow is not None:
            start.append(follow)
    if not start:
        raise ConfigurationError(
            "no model source configured: set MLSERVE_MODEL__PATH to a bundle or registry "
            "directory, or MLSERVE_MODEL__URI to an MLflow model URI (and check "
            f"MLSERVE_MODEL__RESOLUTION={','.join(model.resolution)})"
        )
    if follow is None:
        return start
    return [FollowingSource(start, follow)]
