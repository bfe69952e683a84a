"""Exceptions raised by k8s-mlserve.

The tree (the server chooses each HTTP status in one place, ``server.errors``)::

    MLServeError
    ├── ConfigurationError      settings or a deployment spec are invalid
    ├── BundleError             a model bundle cannot be written or read
    │   ├── BundleNotFoundError     no bundle (or no current version) at a path
    │   ├── IntegrityError          model.joblib does not match its recorded sha256
    │   ├── LibraryMismatchError    the bundle's scikit-learn major.minor is not the installed one
    │   └── NotCompiledError        the compiled model was asked for but cannot be served
    ├── ModelSourceError        a model source (e.g. an MLflow registry) cannot provide a model
    ├── ModelNotLoadedError     a prediction was asked for before any model was loaded
    ├── SchemaMismatchError     a new model's input schema is incompatible with the served one
    ├── DatasetError            a training dataset cannot be read or lacks required columns
    ├── RolloutError            a release operation cannot be carried out on the cluster as it is
    ├── MissingExtraError       an optional dependency is not installed (also an ImportError)
    └── RequestError            a request cannot be answered as sent
        ├── MalformedRequestError   the body is not JSON, or not of the shape the route takes
        ├── UnauthorizedError       no valid API key or monitoring token was presented
        ├── NotFoundError           the request names a model, version or feature not served
        ├── RequestTooLargeError    the body, or its number of rows, is over the limit
        └── ValidationError         the rows do not match the model's input schema
            └── QueryParameterError     a query parameter has a value the route does not take
"""

from __future__ import annotations

from dataclasses import dataclass


class MLServeError(Exception):
    """Root of every error k8s-mlserve raises on purpose."""


class ConfigurationError(MLServeError):
    """Settings or a deployment spec are invalid."""


class BundleError(MLServeError):
    """A model bundle cannot be written or read."""


class BundleNotFoundError(BundleError):
    """No bundle, registry or current version exists at the given path."""


class IntegrityError(BundleError):
    """The pickled model does not match the sha256 recorded in its metadata."""


class LibraryMismatchError(BundleError):
    """A bundle was written with another scikit-learn major.minor than the installed one."""


class NotCompiledError(BundleError):
    """The bundle's compiled (ONNX) model is missing, failed its check, or cannot be loaded."""


class MissingExtraError(MLServeError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class ModelSourceError(MLServeError):
    """A model source (a registry, a tracking server) cannot provide a model."""


class ModelNotLoadedError(MLServeError):
    """A prediction was requested while no model is loaded."""


class SchemaMismatchError(MLServeError):
    """A candidate model's input schema is incompatible with the one being served."""


class DatasetError(MLServeError):
    """A training dataset cannot be read or lacks a required column."""


class RolloutError(MLServeError):
    """A release operation cannot be carried out on the cluster as it is."""


class RequestError(MLServeError):
    """A request cannot be answered as sent; ``message`` says what was wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedRequestError(RequestError):
    """The body is not JSON, or not of the shape the route takes."""


class UnauthorizedError(RequestError):
    """No valid API key (or monitoring token, for the monitoring routes) was presented."""


class NotFoundError(RequestError):
    """The request names a model, a version or a feature that this server does not serve."""


class RequestTooLargeError(RequestError):
    """The body, or the number of rows it holds, is over the server's limit."""


class RequestTimeoutError(RequestError):
    """The client did not send the whole body within the server's body timeout."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one input row."""

    field: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        return out


class ValidationError(RequestError):
    """Request rows do not match the model's input schema."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(
            (f"row {e.row}: " if e.row is not None else "") + f"{e.field}: {e.message}"
            for e in errors[:5]
        )
        super().__init__(summary or "invalid input")


class QueryParameterError(ValidationError):
    """A query parameter has a value the route does not take."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__([FieldError(name, message)])
