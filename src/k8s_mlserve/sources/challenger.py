"""The source of the challenger a server shadow-scores beside its champion (``shadow.model``).

The reference is read in this order::

    models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/PATH   an MLflow model (followed)
    a path holding a '/' (or starting with '.' or '~')           a bundle or registry directory
    a bare name such as v2                                       that version of the registry
                                                                 directory ``model.path``

An MLflow challenger starts from its own write-through cache (``<model.cache_dir>/.shadow``),
never the champion's, so that the champion's cache keeps pointing at the champion.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigurationError
from ..model.registry import BundleRegistry
from ..settings import Settings
from .base import ModelSource
from .directory import DirectorySource
from .following import FollowingSource

MLFLOW_SCHEMES = ("models:/", "runs:/")
CACHE_SUBDIR = ".shadow"


def challenger_source(settings: Settings) -> ModelSource | None:
    """The source ``shadow.model`` names; None when shadow scoring is off."""
    reference = settings.shadow.model
    if reference is None:
        return None
    model = settings.model
    if reference.startswith(MLFLOW_SCHEMES):
        return _mlflow_source(reference, settings)
    if "/" in reference or reference.startswith((".", "~")):
        path = Path(reference).expanduser()
    else:
        if model.path is None or not BundleRegistry.is_registry(model.path):
            raise ConfigurationError(
                f"MLSERVE_SHADOW__MODEL={reference} names a version of the registry directory "
                f"MLSERVE_MODEL__PATH, which is {'unset' if model.path is None else 'not one'}: "
                "give a path with a '/' (./DIR for a directory here) or an MLflow model URI"
            )
        path = BundleRegistry(model.path).version_path(reference)
    return DirectorySource(
        path,
        allow_version_mismatch=model.allow_version_mismatch,
        defer_pickle=model.runtime != "sklearn",
    )


def _mlflow_source(uri: str, settings: Settings) -> ModelSource:
    from .mlflow.source import MLflowSource, use_server_http_defaults

    if not settings.mlflow.tracking_uri:
        raise ConfigurationError(
            f"MLSERVE_SHADOW__MODEL={uri} needs an MLflow tracking server: set "
            "MLFLOW_TRACKING_URI (or MLSERVE_MLFLOW__TRACKING_URI)"
        )
    use_server_http_defaults()
    model = settings.model
    cache_dir = model.cache_dir / CACHE_SUBDIR if model.cache_dir is not None else None
    follow = MLflowSource(
        uri,
        tracking_uri=settings.mlflow.tracking_uri,
        cache_dir=cache_dir,
        allow_version_mismatch=model.allow_version_mismatch,
    )
    if follow.cache_path is None:
        return follow
    cached = DirectorySource(
        follow.cache_path,
        allow_version_mismatch=model.allow_version_mismatch,
        defer_pickle=model.runtime != "sklearn",
    )
    return FollowingSource([cached, follow], follow)
