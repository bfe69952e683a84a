"""HTTP-edge errors and the one place exceptions become status codes."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ConfigurationError, ModelNotLoadedError, ValidationError
from .responses import error_response

log = logging.getLogger("k8s_mlserve.server")


class RequestError(Exception):
    """A request the server refuses, with the HTTP status that says why."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedBody(RequestError):
    """The body is not valid JSON or not of the expected shape."""

    status = 400


class Unauthorized(RequestError):
    """No valid API key or token was presented."""

    status = 401


class BodyTooLarge(RequestError):
    """The body exceeds ``server.max_body_bytes``."""

    status = 413


class UnprocessableRequest(RequestError):
    """The JSON is well formed but cannot be processed (e.g. too many instances)."""

    status = 422


class NotFound(RequestError):
    """The addressed model or resource does not exist."""

    status = 404


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    response = error_response(exc.status, exc.message)
    if headers:
        response.headers.update(headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return error_response(
        422, "input does not match the model's schema", details=[e.as_dict() for e in exc.errors]
    )


async def _not_loaded(request: Request, exc: Exception) -> Response:
    return error_response(503, f"no model loaded: {exc}")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, ConfigurationError):
        return error_response(500, f"server misconfigured: {exc}")
    return error_response(500, "internal error; see the server log")


EXCEPTION_HANDLERS = {
    RequestError: _request_error,
    ValidationError: _validation_error,
    ModelNotLoadedError: _not_loaded,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
