"""Model sources: where a model comes from (a bundle or registry directory, an MLflow registry).

A source answers two questions: which version is current (cheap, polled) and give me that version
(expensive). The model manager only talks to the ``ModelSource`` protocol; ``build_sources`` turns
the settings into sources. Only ``sources.mlflow`` (``source`` and ``loading``) imports ``mlflow``,
lazily.
"""

from __future__ import annotations

from .base import ModelSource
from .challenger import challenger_source
from .configured import build_sources
from .directory import DirectorySource
from .following import FollowingSource

__all__ = [
    "DirectorySource",
    "FollowingSource",
    "ModelSource",
    "build_sources",
    "challenger_source",
]
