"""k8s-mlserve: serve scikit-learn and MLflow models on Kubernetes."""

from .__version__ import __version__
from .errors import (
    BundleError,
    BundleNotFoundError,
    ConfigurationError,
    DatasetError,
    IntegrityError,
    LibraryMismatchError,
    MLServeError,
    ModelNotLoadedError,
    ModelSourceError,
    NotCompiledError,
    SchemaMismatchError,
    ValidationError,
)
from .model.bundle import Bundle, BundleMetadata, ResponseSpec, load_bundle, read_metadata
from .model.registry import BundleRegistry, resolve_bundle_path
from .model.schema import InputSchema
from .settings import Settings, load_settings
from .training.bundle import write_bundle

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


def __getattr__(name: str) -> object:
    # The server pulls in starlette and uvicorn: import it only when asked for.
    if name == "create_app":
        from .server import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
