"""The Open Inference Protocol (V2) REST routes, over the same core as ``/predict``.

``GET /v2``, ``GET /v2/health/live``, ``GET /v2/health/ready``,
``GET /v2/models/{name}[/versions/{version}]``, ``.../ready`` and ``POST .../infer`` (tensors:
see ``tensors``; binary tensor data: see ``binary``). Outputs are ``label``, ``probabilities``
``[N, n_classes]`` when the model has them, and the example's response fields. Keys,
validation, batching and error statuses are those of ``/predict``; error bodies take the
protocol's shape ``{"error": "..."}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..__version__ import __version__
from ..inference.manager import LoadedModel
from .binary import HEADER, encode_answer, read_request
from .body import read_body
from .edge import route
from .guards import Endpoint, requires_key
from .responses import FastJSONResponse
from .state import ServerState, server_state
from .tensors import column_tensor, feature_datatype, select_outputs, v2_outputs, v2_rows


def _served(state: ServerState, request: Request) -> LoadedModel:
    return state.manager.resolve(request.path_params["name"], request.path_params.get("version"))


async def server_metadata(request: Request) -> Response:
    """Server metadata."""
    return FastJSONResponse(
        {"name": "k8s-mlserve", "version": __version__, "extensions": ["binary_tensor_data"]}
    )


async def server_live(request: Request) -> Response:
    """Liveness: the process answers."""
    return FastJSONResponse({"live": True})


async def server_ready(request: Request) -> Response:
    """Readiness: a model is served and no shutdown is under way (else 503)."""
    state = server_state(request)
    ready = state.manager.current is not None and not state.shutting_down
    return FastJSONResponse({"ready": ready}, 200 if ready else 503)


async def model_metadata(request: Request) -> Response:
    """Model metadata: one input tensor per feature, the label and probability outputs."""
    model = _served(server_state(request), request)
    predictor = model.predictor
    inputs = [
        {"name": f.name, "datatype": feature_datatype(f), "shape": [-1]}
        for f in predictor.schema.features
    ]
    outputs: list[dict[str, Any]] = [
        {"name": "label", "datatype": _label_datatype(model), "shape": [-1]}
    ]
    if predictor.classes is not None:
        outputs.append(
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(predictor.classes)]}
        )
    return FastJSONResponse(
        {
            "name": predictor.name,
            "versions": [model.version],
            "platform": predictor.metadata.model_class.split(".")[0],
            "inputs": inputs,
            "outputs": outputs,
        }
    )


async def model_ready(request: Request) -> Response:
    """Model readiness."""
    state = server_state(request)
    model = _served(state, request)
    ready = not state.shutting_down
    return FastJSONResponse({"name": model.name, "ready": ready}, 200 if ready else 503)


@requires_key
async def infer(request: Request) -> Response:
    """Tensors in; ``label``, ``probabilities`` and the response fields out."""
    state = server_state(request)
    _served(state, request)  # 503 or 404 before the body is read
    body = await read_body(
        request, state.settings.server.max_body_bytes, state.settings.server.body_timeout
    )
    payload = read_request(body, request.headers.get(HEADER))
    # Resolved again after the await: the model may have been replaced meanwhile, and nothing
    # awaits between here and the batcher taking the rows.
    model = _served(state, request)
    rows = v2_rows(payload, model.predictor.schema)
    answer = await state.manager.predict(rows, model=model)
    classes = model.predictor.classes
    keys = [str(c) for c in classes] if classes is not None else None
    tensors = select_outputs(v2_outputs(answer.predictions, keys), payload)
    request_id = payload.get("id")
    return encode_answer(
        {
            "model_name": model.name,
            "model_version": model.version,
            "id": request_id if isinstance(request_id, str) else uuid.uuid4().hex,
            "outputs": tensors,
        },
        payload,
    )


def _label_datatype(model: LoadedModel) -> str:
    classes = model.predictor.classes
    if classes is None:
        return "FP64"
    return str(column_tensor("label", list(classes))["datatype"])


def routes() -> list[Route]:
    """One endpoint per route, so that metrics label each by its own template."""
    model = "/v2/models/{name}"
    versioned = "/v2/models/{name}/versions/{version}"
    table: list[tuple[str, Endpoint, str]] = [
        ("/v2", server_metadata, "GET"),
        ("/v2/health/live", server_live, "GET"),
        ("/v2/health/ready", server_ready, "GET"),
        (model, model_metadata, "GET"),
        (model + "/ready", model_ready, "GET"),
        (model + "/infer", infer, "POST"),
        (versioned, model_metadata, "GET"),
        (versioned + "/ready", model_ready, "GET"),
        (versioned + "/infer", infer, "POST"),
    ]
    return [route(path, fn, method) for path, fn, method in table]
