"""k8s-mlserve: serve scikit-learn and MLflow models on Kubernetes."""

import typing as _typing

from .__version__ import __version__
from ._lazy import lazy_names as _lazy_names
from .errors import (
    BundleError,
    BundleNotFoundError,
    ConfigurationError,
    DatasetError,
    IntegrityError,
    LibraryMismatchError,
    MissingExtraError,
    MLServeError,
    ModelNotLoadedError,
    ModelSourceError,
    NotCompiledError,
    SchemaMismatchError,
    ValidationError,
)

if _typing.TYPE_CHECKING:
    from .model.bundle import Bundle, BundleMetadata, ResponseSpec, load_bundle, read_metadata
    from .model.registry import BundleRegistry, resolve_bundle_path
    from .model.schema import InputSchema
    from .server import create_app
    from .settings import Settings, load_settings
    from .training.bundle import write_bundle

# Imported on first use: ``import k8s_mlserve`` (and the CLI's start) stays light.
_MODULES = {
    "Bundle": "model.bundle",
    "BundleMetadata": "model.bundle",
    "ResponseSpec": "model.bundle",
    "load_bundle": "model.bundle",
    "read_metadata": "model.bundle",
    "BundleRegistry": "model.registry",
    "resolve_bundle_path": "model.registry",
    "InputSchema": "model.schema",
    "create_app": "server",
    "Settings": "settings",
    "load_settings": "settings",
    "write_bundle": "training.bundle",
}

__all__ = [
    "Bundle",
    "BundleError",
    "BundleMetadata",
    "BundleNotFoundError",
    "BundleRegistry",
    "ConfigurationError",
    "DatasetError",
    "InputSchema",
    "IntegrityError",
    "LibraryMismatchError",
    "MLServeError",
    "MissingExtraError",
    "ModelNotLoadedError",
    "ModelSourceError",
    "NotCompiledError",
    "ResponseSpec",
    "SchemaMismatchError",
    "Settings",
    "ValidationError",
    "__version__",
    "create_app",
    "load_bundle",
    "load_settings",
    "read_metadata",
    "resolve_bundle_path",
    "write_bundle",
]


__getattr__ = _lazy_names(__name__, _MODULES)
