"""The sources a server's settings name.

``build_sources`` turns the settings into sources. ``model.resolution`` orders the kinds tried at
start: ``bundle`` is ``model.path`` then the MLflow cache (``<model.cache_dir>/<model name>``),
``mlflow`` is ``model.uri``. Without a model URI the directory is the source, polled for a new
``current`` version. With a model URI the result is one ``FollowingSource``: the first start
source that loads is served, and from then on only MLflow is asked, so a bundle served at start
is replaced as soon as the alias points to another version.

Without a model URI, a ``model.path`` that does not exist fails at once unless
``model.wait_for_path`` (the default inside Kubernetes, where a volume may be mounted late).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ..errors import ConfigurationError
from ..settings import Settings
from .base import ModelSource
from .directory import DirectorySource
from .following import FollowingSource


def build_sources(settings: Settings) -> list[ModelSource]:
    """The sources named by the settings, in ``model.resolution`` order (see the docstring)."""
    model = settings.model
    if model.path is not None and model.uri is None and "bundle" in model.resolution:
        _check_path(model.path, wait=bool(model.wait_for_path))
    follow = None
    if model.uri is not None:
        from .mlflow.source import MLflowSource, use_server_http_defaults

        if not settings.mlflow.tracking_uri:
            raise ConfigurationError(
                f"MLSERVE_MODEL__URI={model.uri} needs an MLflow tracking server: set "
                "MLFLOW_TRACKING_URI (or MLSERVE_MLFLOW__TRACKING_URI)"
            )
        use_server_http_defaults()
        follow = MLflowSource(
            model.uri,
            tracking_uri=settings.mlflow.tracking_uri,
            cache_dir=model.cache_dir,
            allow_version_mismatch=model.allow_version_mismatch,
        )
    start: list[ModelSource] = []
    for kind in model.resolution:
        if kind == "bundle":
            directories = [model.path, follow.cache_path if follow is not None else None]
            for path in dict.fromkeys(p for p in directories if p is not None):
                start.append(
                    DirectorySource(
                        path,
                        allow_version_mismatch=model.allow_version_mismatch,
                        # The pickle is not even read when the compiled model can serve.
                        defer_pickle=model.runtime != "sklearn",
                    )
                )
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


def _check_path(path: Path, *, wait: bool) -> None:
    """Refuse a model path that does not exist, unless the server is to wait for it to appear."""
    if wait or path.exists():
        return
    parent = path.parent
    if parent.is_dir():
        try:
            siblings = [child.name for child in parent.iterdir() if not child.name.startswith(".")]
        except OSError:  # unreadable: the message can do without a suggestion
            siblings = []
        close = difflib.get_close_matches(path.name, siblings, n=1)
        where = f"its parent directory {parent} exists" + (
            f"; did you mean {parent / close[0]}?" if close else ""
        )
    else:
        where = f"nor does its parent directory {parent}"
    raise ConfigurationError(
        f"model path {path} does not exist ({where}): check MLSERVE_MODEL__PATH (serve --bundle), "
        "or set MLSERVE_MODEL__WAIT_FOR_PATH=true to wait for it to appear (the default inside "
        "Kubernetes, where a volume may be mounted late)"
    )
