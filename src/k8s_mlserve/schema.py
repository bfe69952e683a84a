"""Deprecated import path: use ``k8s_mlserve.model.schema`` (or the names on ``k8s_mlserve``)."""

from __future__ import annotations

import warnings

_target = "k8s_mlserve.model.schema"


def __getattr__(name: str) -> object:
    import importlib

    warnings.warn(
        f"k8s_mlserve.schema.{name} moved to {_target}.{name}; import it from there or from "
        "k8s_mlserve",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_target), name)
