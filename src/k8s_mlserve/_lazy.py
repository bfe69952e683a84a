"""Public names of a package imported from their modules on first use (PEP 562)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

from .extras import missing_extra


def lazy_names(package: str, modules: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``modules`` maps each public name to the
    submodule defining it, imported (and the name cached in the package) when first asked for.
    A submodule that needs a missing optional dependency raises ``MissingExtraError``."""

    def __getattr__(name: str) -> object:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            imported = importlib.import_module(f".{module}", package)
        except ImportError as exc:  # an optional dependency: say which extra brings it
            missing = missing_extra(exc)
            if missing is None:
                raise
            raise missing from exc
        value = getattr(imported, name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
