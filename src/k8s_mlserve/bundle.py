"""Deprecated import path: use ``k8s_mlserve.model.bundle`` (or the names on ``k8s_mlserve``)."""

from ._moved import forward

__getattr__ = forward(__name__, "k8s_mlserve.model.bundle")
