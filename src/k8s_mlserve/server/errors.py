"""The one map from failures to HTTP statuses, for every route and protocol.

| failure                                            | exception               | status |
| -------------------------------------------------- | ----------------------- | ------ |
| body not JSON, or not of the shape the route takes | `MalformedRequestError` | 400    |
| no valid API key / monitoring token                | `UnauthorizedError`     | 401    |
| model, version or feature (drift) not served       | `NotFoundError`         | 404    |
| body not all arrived within the body timeout       | `RequestTimeoutError`   | 408    |
| body or row count over the limit                   | `RequestTooLargeError`  | 413    |
| no rows, or rows that do not match the schema      | `ValidationError`       | 422    |
| a query parameter the route does not take          | `QueryParameterError`   | 422    |
| no model loaded yet                                | `ModelNotLoadedError`   | 503    |
| anything else                                      | -                       | 500    |

The body takes the shape of the route's protocol: ``{"error": {"status", "message", "details"}}``
on the routes of this server, ``{"error": "message"}`` on the V1 and V2 protocol routes, as those
protocols define it. The table is copied into ``docs/architecture.md``; a test sends each failure
to ``/predict``, V1 and V2.

A 422 lists at most ``MAX_DETAILS`` field errors and counts the rest (``"omitted"``). Anything
unexpected is answered by ``edge.Edge`` with ``unexpected_response``: a 500 naming the request
id, one log line (the traceback at most once a minute per error type and place), and the
connection kept open.
"""

from __future__ import annotations

import logging
import time
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
    QueryParameterError,
    RequestTimeoutError,
    RequestTooLargeError,
    UnauthorizedError,
    ValidationError,
)
from .request_id import request_id_of
from .responses import FastJSONResponse

log = logging.getLogger("k8s_mlserve.server")

STATUSES: tuple[tuple[type[MLServeError], int], ...] = (
    (MalformedRequestError, 400),
    (UnauthorizedError, 401),
    (NotFoundError, 404),
    (RequestTimeoutError, 408),
    (RequestTooLargeError, 413),
    (ValidationError, 422),
    (ModelNotLoadedError, 503),
)
PROTOCOL_PREFIXES = ("/v1/", "/v2/")
MAX_DETAILS = 20
"""Field errors listed in one 422 body; the rest are counted."""
TRACEBACK_EVERY = 60.0
"""Seconds between two tracebacks of the same unexpected error (type and place)."""


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
    extra: Mapping[str, object] | None = None,
) -> Response:
    """The error body in the shape of the request's protocol.

    ``extra`` keys join the error object of this server's routes (the protocols' error is text).
    """
    path = request.url.path
    if path == "/v2" or path.startswith(PROTOCOL_PREFIXES):
        text = f"{message}: {details_text(details)}" if details else message
        return FastJSONResponse({"error": text}, status, headers=headers)
    body: dict[str, object] = {"status": status, "message": message}
    if details is not None:
        body["details"] = details
    body.update(extra or {})
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
        return validation_response(request, exc)
    if isinstance(exc, UnauthorizedError):
        return error_response(request, status, exc.message, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, ModelNotLoadedError):
        return error_response(request, status, f"no model loaded: {exc}")
    if status == 500:
        return unexpected_response(request, exc)
    return error_response(request, status, str(exc))


async def handle_http(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, method not allowed), in the same body shape."""
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, str(exc.detail), headers=exc.headers)


def validation_response(request: Request, exc: ValidationError) -> Response:
    """A 422 listing the first ``MAX_DETAILS`` field errors and counting the others."""
    if isinstance(exc, QueryParameterError):
        message = "invalid query parameter"
    else:
        message = "input does not match the model's schema"
    omitted = len(exc.errors) - MAX_DETAILS
    if omitted > 0:
        message += f" ({len(exc.errors)} errors; the first {MAX_DETAILS} are listed)"
    return error_response(
        request,
        422,
        message,
        details=[e.as_dict() for e in exc.errors[:MAX_DETAILS]],
        extra={"omitted": omitted} if omitted > 0 else None,
    )


class _TracebackThrottle:
    """Whether an error's traceback is due: once per type and place per ``TRACEBACK_EVERY``."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, int], float] = {}

    def due(self, exc: BaseException) -> bool:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        place = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb else ("?", 0)
        key = (type(exc).__qualname__, *place)
        now = time.monotonic()
        if now - self._last.get(key, -TRACEBACK_EVERY) < TRACEBACK_EVERY:
            return False
        if len(self._last) > 1000:  # many distinct errors: forget them rather than grow
            self._last.clear()
        self._last[key] = now
        return True


_throttle = _TracebackThrottle()


def unexpected_response(request: Request, exc: Exception) -> Response:
    """Log one line (with the traceback when due) and answer 500 naming the request id."""
    request_id = request_id_of(request.scope)
    traceback = _throttle.due(exc)
    log.error(
        "unhandled %s on %s %s [request %s]%s",
        type(exc).__name__,
        request.method,
        request.url.path,
        request_id,
        "" if traceback else f": {exc!s:.200} (traceback logged at most once a minute)",
        exc_info=exc if traceback else None,
    )
    if isinstance(exc, ConfigurationError):
        message = f"server misconfigured: {exc}"
    else:
        message = "internal error; see the server log"
    path = request.url.path
    if path == "/v2" or path.startswith(PROTOCOL_PREFIXES):
        message += f" (request id {request_id})"
    return error_response(request, 500, message, extra={"request_id": request_id})
