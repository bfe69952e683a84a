"""Kubernetes probes: liveness, readiness, startup. They never need a key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .responses import FastJSONResponse
from .state import server_state


async def health(request: Request) -> Response:
    """Liveness: the process answers. Includes whether a model is loaded."""
    state = server_state(request)
    return FastJSONResponse({"status": "ok", "model_loaded": state.manager.current is not None})


async def ready(request: Request) -> Response:
    """Readiness: 200 only with a model loaded and no shutdown under way."""
    state = server_state(request)
    manager = state.manager
    if state.shutting_down:
        return FastJSONResponse({"status": "not ready", "reason": "shutting down"}, 503)
    if manager.current is None:
        reason = manager.load_error or "the model is still loading"
        return FastJSONResponse({"status": "not ready", "reason": reason}, 503)
    body: dict[str, object] = {"status": "ready", "model_version": manager.current.version}
    last = manager.last_reload
    if last is not None and not last.ok:
        body["last_reload_error"] = last.message
    return FastJSONResponse(body)


async def startup(request: Request) -> Response:
    """Startup: 200 once the initial load attempt has finished."""
    manager = server_state(request).manager
    if manager.startup_complete:
        return FastJSONResponse({"status": "started", "model_loaded": manager.current is not None})
    return FastJSONResponse({"status": "starting"}, 503)
