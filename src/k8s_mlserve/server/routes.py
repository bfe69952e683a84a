"""Prediction, service information and administration routes: parse, call the core, encode."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..__version__ import __version__
from .body import extract_instances, parse_json, read_body
from .errors import Unauthorized
from .openapi import build_openapi, render_docs
from .responses import FastJSONResponse
from .state import ServerState, server_state

AUTH_OFF_WARNING = "authentication is OFF: no API key is configured, anyone can call /predict"


def require_key(state: ServerState, request: Request) -> None:
    if not state.api_keys.allows(request):
        raise Unauthorized("missing or invalid API key")


async def predict(request: Request) -> Response:
    """One row in, one result out; ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out."""
    state = server_state(request)
    require_key(state, request)
    model = state.manager.require_model()
    server = state.settings.server
    payload = parse_json(await read_body(request, server.max_body_bytes))
    rows, single = extract_instances(payload, server.max_instances)
    model.predictor.validate(rows)
    outputs = await state.manager.predict(model, rows)
    if single:
        return FastJSONResponse(outputs[0][0])
    return FastJSONResponse(
        {"predictions": [o[0] for o in outputs], "model_version": model.version}
    )


async def info(request: Request) -> Response:
    """Service information (never secrets)."""
    state = server_state(request)
    current = state.manager.current
    body: dict[str, Any] = {
        "service": "k8s-mlserve",
        "server_version": __version__,
        "environment": state.settings.server.environment,
        "model": (
            {"name": current.predictor.name, "version": current.version} if current else None
        ),
        "auth": "enabled" if state.api_keys.enabled else AUTH_OFF_WARNING,
        "endpoints": {
            "POST /predict": "predict one row or {'instances': [...]}",
            "GET /version": "model version and provenance",
            "GET /health": "liveness",
            "GET /ready": "readiness",
            "GET /startup": "startup",
            "GET /metrics": "Prometheus metrics",
            "GET /drift": "drift of recent inputs against the training data",
            "POST /admin/reload": "load the source's current model version now",
            "POST /v2/models/{name}/infer": "Open Inference Protocol (V2); also GET /v2, ...",
            "POST /v1/models/{name}:predict": "KServe V1 protocol",
            "GET /docs": "API documentation",
            "GET /openapi.json": "OpenAPI description",
        },
    }
    return FastJSONResponse(body)


async def version(request: Request) -> Response:
    """The served model: name, version, algorithm, trained-at, run id, metrics."""
    state = server_state(request)
    model = state.manager.require_model()
    meta = model.predictor.metadata
    body: dict[str, Any] = {
        "name": meta.name,
        "version": meta.version,
        "algorithm": meta.algorithm,
        "model_class": meta.model_class,
        "trained_at": meta.created_at.isoformat(),
        "run_id": meta.mlflow_run_id,
        "metrics": model.predictor.bundle.metrics,
        "source": model.source,
        "loaded_at": model.loaded_at.isoformat(),
    }
    last = state.manager.last_reload
    if last is not None:
        body["last_reload"] = {"at": last.at.isoformat(), "ok": last.ok, "message": last.message}
    return FastJSONResponse(body)


async def metrics(request: Request) -> Response:
    """Prometheus exposition; guarded by the monitoring token when one is set."""
    state = server_state(request)
    if not state.monitoring.allows(request):
        raise Unauthorized("missing or invalid monitoring token")
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    state = server_state(request)
    current = state.manager.current
    return FastJSONResponse(_document(state, current.predictor if current else None))


async def docs(request: Request) -> Response:
    state = server_state(request)
    current = state.manager.current
    return HTMLResponse(render_docs(_document(state, current.predictor if current else None)))


async def reload(request: Request) -> Response:
    """Load the source's current version now (same path as the poller)."""
    state = server_state(request)
    require_key(state, request)
    status = await asyncio.shield(state.manager.reload(reason="admin request"))
    return FastJSONResponse(
        {"ok": status.ok, "message": status.message, "at": status.at.isoformat()},
        200 if status.ok else 409,
    )


def _document(state: ServerState, predictor: Any) -> dict[str, Any]:
    return build_openapi(
        predictor,
        title=f"k8s-mlserve: {predictor.name if predictor else 'model'}",
        auth_enabled=state.api_keys.enabled,
    )
