"""The library versions an MLflow model was saved with, read from its directory before loading.

The sklearn flavour records scikit-learn's version in the MLmodel file, the pyfunc flavour the
Python version, and ``requirements.txt`` pins the other libraries. A model loaded (and cached) from
MLflow records these, not the server's own, so the scikit-learn check sees what the model was
written with. Works on an MLmodel MLflow already loaded: this module never imports ``mlflow``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# The libraries a bundle records (``model.bundle.library_versions``), by their pip names.
LIBRARIES = frozenset({"joblib", "numpy", "pandas", "scikit-learn"})
_PIN = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#,]+)")


def recorded_library_versions(mlmodel: Any, path: Path) -> dict[str, str]:
    """What the MLflow model at ``path`` (its loaded MLmodel ``mlmodel``) was saved with."""
    versions = requirement_pins(path / "requirements.txt")
    flavors = mlmodel.flavors or {}
    python = (flavors.get("python_function") or {}).get("python_version")
    if python:
        versions["python"] = str(python)
    sklearn = (flavors.get("sklearn") or {}).get("sklearn_version")
    if sklearn:
        versions["scikit-learn"] = str(sklearn)
    return versions


def requirement_pins(path: Path) -> dict[str, str]:
    """The ``name==version`` pins of ``LIBRARIES`` in a requirements file ({} without one)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    pins: dict[str, str] = {}
    for line in lines:
        found = _PIN.match(line)
        if found is not None:
            name = found[1].lower().replace("_", "-")
            if name in LIBRARIES:
                pins[name] = found[2]
    return pins
