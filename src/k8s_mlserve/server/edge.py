"""The one layer every HTTP request passes on its way in and out.

``Edge`` does, with a single wrapper of ``send``, what used to take four middlewares: it gives
the request its id (``request_id``) and the server's state (``state.SCOPE_KEY``), counts and
times it by route template (``metrics``), adds ``Connection: close`` once shutdown has begun,
runs what the request left for after its answer (``after_response``), and turns every exception
into an answer: the domain's errors and Starlette's 404/405 through the handlers of ``errors``,
anything else into a 500 naming the request id, with the kept-alive connection left open.

``ServingApp`` is Starlette with ``Edge`` as its whole middleware stack (Starlette's own error and
exception middlewares each wrapped ``send`` again), and ``Endpoint`` serves a route's handler as
a plain ASGI app, so that its exceptions reach ``Edge`` without another wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import MLServeError
from . import after_response
from .errors import handle_error, handle_http, unexpected_response
from .metrics import ServerMetrics
from .request_id import IdSequence, choose_id, current_request_id
from .state import SCOPE_KEY, ServerState

Handler = Callable[[Request], Awaitable[Response]]
_ID_HEADER = b"x-request-id"
_REPLACED = (_ID_HEADER, b"connection")


class Endpoint:
    """A request handler served as a plain ASGI app (what Starlette's ``request_response`` does,
    without its exception wrapper: ``Edge`` answers every error)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.__name__ = getattr(handler, "__name__", type(self).__name__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive, send))
        await response(scope, receive, send)


def route(path: str, handler: Handler, method: str) -> Route:
    """A route serving ``handler`` through its own ``Endpoint`` (metrics key on it)."""
    return Route(path, Endpoint(handler), methods=[method])


class Edge:
    """Request id, metrics, draining and error answers for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Mapping[Any, str],
        state: ServerState,
    ) -> None:
        self.app = app
        self.metrics: ServerMetrics = state.metrics
        self.routes = routes
        self.state = state
        self._fresh = IdSequence()
        # Only shadow scoring leaves work for after the answer: without it, no list per request.
        self._after = state.shadow.enabled
        # The metric children by label values, looked up without prometheus_client's lock.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = next((v for k, v in scope["headers"] if k == _ID_HEADER), None)
        request_id = choose_id(sent, self._fresh)
        scope.setdefault("state", {})["request_id"] = request_id
        scope[SCOPE_KEY] = self.state
        token = current_request_id.set(request_id)
        later = after_response.begin() if self._after else None
        extra = [(_ID_HEADER, request_id.encode("ascii"))]
        status = 500
        answering = False

        async def edge_send(message: Message) -> None:
            nonlocal status, answering
            if message["type"] == "http.response.start":
                answering = True
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() not in _REPLACED]
                if self.state.shutting_down:
                    extra.append((b"connection", b"close"))
                message = {**message, "headers": headers + extra}
            await send(message)

        try:
            try:
                await self.app(scope, receive, edge_send)
            except Exception as exc:
                if answering:  # too late for an answer: the server closes the connection
                    raise
                response = await _answer(Request(scope, receive), exc)
                await response(scope, receive, edge_send)
        finally:
            if later is not None:  # the answer is sent: e.g. queue it for the challenger
                after_response.finish(later)
            current_request_id.reset(token)
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self.routes.get(scope.get("endpoint"), "unmatched")
        key = (route, scope["method"], status)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.metrics.requests.labels(
                route, scope["method"], str(status)
            )
        counter.inc()
        timer = self._timed.get(route)
        if timer is None:
            timer = self._timed[route] = self.metrics.latency.labels(route)
        timer.observe(seconds)


async def _answer(request: Request, exc: Exception) -> Response:
    if isinstance(exc, MLServeError):
        return await handle_error(request, exc)
    if isinstance(exc, HTTPException):
        return await handle_http(request, exc)
    return unexpected_response(request, exc)


class ServingApp(Starlette):
    """Starlette whose middleware stack is the user middleware alone (``Edge``)."""

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router
        for middleware in reversed(self.user_middleware):
            factory: Any = middleware.cls
            app = factory(app, *middleware.args, **middleware.kwargs)
        return app
