"""Old import paths of public names: forward each name to its new module, with a warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable


def forward(old: str, new: str) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``old`` that returns ``new``'s attribute and warns."""

    def __getattr__(name: str) -> object:
        value = getattr(importlib.import_module(new), name)
        warnings.warn(
            f"{old}.{name} moved to {new}.{name}; import it from there or from k8s_mlserve",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
