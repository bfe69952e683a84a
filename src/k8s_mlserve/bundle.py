"""Deprecated import path: use ``k8s_mlserve.model.bundle`` (or the names on ``k8s_mlserve``)."""

from __future__ import annotations

import warnings

_target = "k8s_mlserve.model.bundle"


def __getattr__(name: str) -> object:
    import importlib

    warnings.warn(
        f"k8s_mlserve.bundle.{name} moved to {_target}.{name}; import it from there or from "
        "k8s_mlserve",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_target), name)
