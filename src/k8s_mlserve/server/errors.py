"""The one map from failures to HTTP statuses, for every route and protocol.

| failure                                            | exception               | status |
| -------------------------------------------------- | ----------------------- | ------ |
| body not JSON, or not of the shape the route takes | `MalformedRequestError` | 400    |
| no valid API key / monitoring token                | `UnauthorizedError`     | 401    |
| model, version or feature (drift) not served       | `NotFoundError`         | 404    |
| body or row count over the limit                   | `RequestTooLargeError`  | 413    |
| no rows, or rows that do not match the schema      | `ValidationError`       | 422    |
| no model loaded yet                                | `ModelNotLoadedError`   | 503    |
| anything else                                      | -                       | 500    |

The body takes the shape of the route's protocol: ``{"error": {"status", "message", "details"}}``
on the routes of this server, ``{"error": "message"}`` on the V1 and V2 protocol routes, as those
protocols define it. The table is copied into ``docs/architecture.md``; a test sends each failure
to ``/predict``, V1 and V2.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import (
    ConfigurationError,
    MalformedRequestError,
    MLServeError,
    ModelNotLoadedError,
    NotFoundError,
    RequestTooLargeError,
    UnauthorizedError,
    ValidationError,
)
from .responses import FastJSONResponse

log = logging.getLogger("k8s_mlserve.server")

STATUSES: tuple[tuple[type[MLServeError], int], ...] = (
    (MalformedRequestError, 400),
    (UnauthorizedError, 401),
    (NotFoundError, 404),
    (RequestTooLargeError, 413),
    (ValidationError, 422),
    (ModelNotLoadedError, 503),
)
PROTOCOL_PREFIXES = ("/v1/", "/v2/")


def status_for(exc: BaseException) -> int:
    """The HTTP status of a failure (500 for anything the table does not name)."""
    for kind, status in STATUSES:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    details: list[dict[str, object]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error body in the shape of the request's protocol."""
    path = request.url.path
    if path == "/v2" or path.startswith(PROTOCOL_PREFIXES):
        text = f"{message}: {details_text(details)}" if details else message
        return FastJSONResponse({"error": text}, status, headers=headers)
    body: dict[str, object] = {"status": status, "message": message}
    if details is not None:
        body["details"] = details
    return FastJSONResponse({"error": body}, status, headers=headers)


def details_text(details: list[dict[str, object]]) -> str:
    return "; ".join(
        (f"row {d['row']}: " if "row" in d else "") + f"{d['field']}: {d['message']}"
        for d in details[:5]
    )


async def handle_error(request: Request, exc: Exception) -> Response:
    """Answer a failure the domain raised on purpose, with the status the table gives it."""
    status = status_for(exc)
    if isinstance(exc, ValidationError):
        return error_response(
            request,
            status,
            "input does not match the model's schema",
            details=[e.as_dict() for e in exc.errors],
        )
    if isinstance(exc, UnauthorizedError):
        return error_response(request, status, exc.message, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, ModelNotLoadedError):
        return error_response(request, status, f"no model loaded: {exc}")
    if status == 500:
        return await handle_unexpected(request, exc)
    return error_response(request, status, str(exc))


async def handle_http(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, method not allowed), in the same body shape."""
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, str(exc.detail), headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, ConfigurationError):
        return error_response(request, 500, f"server misconfigured: {exc}")
    return error_response(request, 500, "internal error; see the server log")


EXCEPTION_HANDLERS = {
    MLServeError: handle_error,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}
