"""KServe V1 protocol over the same core as ``/predict``.

``GET /v1/models``, ``GET /v1/models/{name}``, ``POST /v1/models/{name}:predict`` with
``{"instances": [...]}``, each instance an object or a list in schema order; the answer is
``{"predictions": [label, ...]}``. Keys, validation, batching and error statuses are those of
``/predict``; error bodies take the protocol's shape ``{"error": "..."}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import MalformedRequestError
from ..model.schema import InputSchema
from .body import list_found, parse_json, read_body
from .edge import route
from .guards import requires_key
from .responses import FastJSONResponse
from .state import server_state


def v1_rows(payload: Any, schema: InputSchema) -> list[Any]:
    """The rows of a V1 ``{"instances": [...]}`` request (objects or lists in schema order)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
        got = list_found(payload, "instances")
        raise MalformedRequestError(f'expected {{"instances": [...]}}, got {got}')
    names = schema.names
    rows: list[Any] = []
    for index, instance in enumerate(payload["instances"]):
        if isinstance(instance, dict):
            rows.append(instance)
        elif isinstance(instance, list) and len(instance) == len(names):
            rows.append(dict(zip(names, instance, strict=True)))
        elif isinstance(instance, list):
            raise MalformedRequestError(
                f"instance {index} has {len(instance)} values; expected {len(names)} "
                f"in schema order: {', '.join(names)}"
            )
        else:
            raise MalformedRequestError(
                f"instance {index} must be an object of features or a list in schema order"
            )
    return rows


async def models(request: Request) -> Response:
    """The served models."""
    current = server_state(request).manager.current
    return FastJSONResponse({"models": [current.name] if current else []})


async def model(request: Request) -> Response:
    """Model readiness."""
    state = server_state(request)
    served = state.manager.resolve(request.path_params["name"])
    return FastJSONResponse({"name": served.name, "ready": not state.shutting_down})


@requires_key
async def predict(request: Request) -> Response:
    """``{"instances": [...]}`` in, ``{"predictions": [label, ...]}`` out."""
    state = server_state(request)
    state.manager.resolve(request.path_params["name"])  # 503 or 404 before the body is read
    payload = parse_json(
        await read_body(
            request, state.settings.server.max_body_bytes, state.settings.server.body_timeout
        )
    )
    # Resolved again after the await: the model may have been replaced meanwhile, and nothing
    # awaits between here and the batcher taking the rows.
    served = state.manager.resolve(request.path_params["name"])
    rows = v1_rows(payload, served.predictor.schema)
    answer = await state.manager.predict(rows, model=served)
    return FastJSONResponse({"predictions": answer.predictions.labels})


def routes() -> list[Route]:
    return [
        route("/v1/models", models, "GET"),
        route("/v1/models/{name}", model, "GET"),
        route("/v1/models/{name}:predict", predict, "POST"),
    ]
