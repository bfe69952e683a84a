"""This server's own routes: ``/predict``, service information, monitoring and administration.

Each route parses, calls the model manager and encodes; failures are raised and turned into
statuses by ``errors``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from ..__version__ import __version__
from ..errors import NotFoundError, QueryParameterError
from ..inference.predictor import Predictor
from .body import extract_instances, parse_json, read_body
from .docs_page import CACHE_CONTROL, asset, render_docs
from .guards import requires_key, requires_monitoring
from .openapi import build_openapi
from .responses import FastJSONResponse
from .state import ServerState, server_state

AUTH_OFF_WARNING = "authentication is OFF: no API key is configured, anyone can call /predict"


@requires_key
async def predict(request: Request) -> Response:
    """One row in, one result out; ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out."""
    state = server_state(request)
    state.manager.require_model()  # no model: 503 before the body is read
    payload = parse_json(
        await read_body(
            request, state.settings.server.max_body_bytes, state.settings.server.body_timeout
        )
    )
    rows, single = extract_instances(payload)
    answer = await state.manager.predict(rows)
    results = answer.predictions.results
    if single:
        return FastJSONResponse(results[0])
    return FastJSONResponse({"predictions": results, "model_version": answer.model.version})


async def info(request: Request) -> Response:
    """Service information (never secrets)."""
    state = server_state(request)
    current = state.manager.current
    body: dict[str, Any] = {
        "service": "k8s-mlserve",
        "server_version": __version__,
        "environment": state.settings.server.environment,
        "model": ({"name": current.name, "version": current.version} if current else None),
        "auth": "enabled" if state.api_keys.enabled else AUTH_OFF_WARNING,
        "endpoints": {
            "POST /predict": "predict one row or {'instances': [...]}",
            "GET /version": "model version and provenance",
            "GET /health": "liveness",
            "GET /ready": "readiness",
            "GET /startup": "startup",
            "GET /metrics": "Prometheus metrics",
            "GET /drift": "drift of recent inputs against the training data",
            "GET /shadow": "the challenger's answers compared with the model's",
            "POST /admin/reload": "load the source's current model version now",
            "POST /v2/models/{name}/infer": "Open Inference Protocol (V2); also GET /v2, ...",
            "POST /v1/models/{name}:predict": "KServe V1 protocol",
            "GET /docs": "interactive API documentation (Swagger UI)",
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
        "runtime": _runtime(model.predictor),
    }
    last = state.manager.last_reload
    if last is not None:
        body["last_reload"] = {"at": last.at.isoformat(), "ok": last.ok, "message": last.message}
    return FastJSONResponse(body)


def _runtime(predictor: Predictor) -> dict[str, Any]:
    """What runs the model, why when it is not the compiled model, and the parity figures."""
    compiled = predictor.metadata.compiled
    parity = compiled.parity if compiled is not None else None
    return {
        "name": predictor.runtime.name,
        "reason": predictor.runtime_reason,
        "parity": parity.model_dump(mode="json") if parity is not None else None,
    }


@requires_monitoring
async def metrics(request: Request) -> Response:
    """Prometheus exposition; guarded by the monitoring token when one is set."""
    state = server_state(request)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@requires_monitoring
async def drift(request: Request) -> Response:
    """The drift report of this replica's window of recent rows."""
    state = server_state(request)
    monitor = state.drift
    if not monitor.settings.enabled:
        raise NotFoundError("drift detection is disabled (MLSERVE_DRIFT__ENABLED=false)")
    with_histograms = _flag(request, "histograms")
    state.manager.require_model()
    if with_histograms:
        answer = await asyncio.to_thread(monitor.compute_with_histograms)
        body = answer.report.model_dump(mode="json")
        body["histograms"] = [h.model_dump(mode="json") for h in answer.histograms]
    else:
        body = (await asyncio.to_thread(monitor.compute)).model_dump(mode="json")
    body["model_version"] = monitor.model_version
    return FastJSONResponse(body)


@requires_monitoring
async def shadow(request: Request) -> Response:
    """How the challenger's answers compare with the champion's (shadow scoring)."""
    state = server_state(request)
    return FastJSONResponse(state.shadow.report(state.manager.current))


def _flag(request: Request, name: str) -> bool:
    """A true/false query parameter; absent is false."""
    value = request.query_params.get(name, "false")
    if value.lower() not in ("true", "false"):
        raise QueryParameterError(name, f"must be true or false, got {value!r}")
    return value.lower() == "true"


async def openapi(request: Request) -> Response:
    state = server_state(request)
    return FastJSONResponse(_document(state))


async def docs(request: Request) -> Response:
    """The interactive API page (Swagger UI); public, like ``/openapi.json``."""
    page = render_docs(_document(server_state(request)), base_url=str(request.base_url))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


async def docs_asset(request: Request) -> Response:
    """One of the page's known static files; any other name is 404."""
    path, media_type = asset(request.path_params["name"])
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})


@requires_key
async def reload(request: Request) -> Response:
    """Load the source's current version now (same path as the poller)."""
    state = server_state(request)
    status = await asyncio.shield(state.manager.reload(reason="admin request"))
    return FastJSONResponse(
        {"ok": status.ok, "message": status.message, "at": status.at.isoformat()},
        200 if status.ok else 409,
    )


def _document(state: ServerState) -> dict[str, Any]:
    current = state.manager.current
    predictor: Predictor | None = current.predictor if current else None
    return build_openapi(
        predictor,
        title=f"k8s-mlserve: {predictor.name if predictor else 'model'}",
        auth_enabled=state.api_keys.enabled,
        monitoring_enabled=state.monitoring.enabled,
        max_instances=state.settings.server.max_instances,
    )
