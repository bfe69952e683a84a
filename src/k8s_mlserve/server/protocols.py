"""Standard inference protocols over the same core as ``/predict``.

- Open Inference Protocol (V2) REST: ``GET /v2``, ``GET /v2/health/live``,
  ``GET /v2/health/ready``, ``GET /v2/models/{name}[/versions/{version}]``, ``.../ready`` and
  ``POST .../infer`` (tensors: see ``tensors``). Outputs are ``label``, ``probabilities``
  ``[N, n_classes]`` when the model has them, and the example's response fields.
- KServe V1: ``GET /v1/models``, ``GET /v1/models/{name}``, ``POST /v1/models/{name}:predict``
  with ``{"instances": [...]}``, each instance an object or a list in schema order; the answer
  is ``{"predictions": [label, ...]}``.

Predictions go through the same API keys, schema validation and micro-batching as ``/predict``.
Errors take the protocols' shape ``{"error": "..."}``: 400 for a request the model cannot
take, 404 for an unknown model or version, 401/413/503 as on ``/predict``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..__version__ import __version__
from ..errors import ModelNotLoadedError, ValidationError
from ..inference.manager import LoadedModel, RowOutput
from ..model.schema import InputSchema
from .body import parse_json, read_body
from .errors import BodyTooLarge, MalformedBody, NotFound, RequestError, Unauthorized
from .responses import FastJSONResponse
from .routes import require_key
from .state import ServerState, server_state
from .tensors import column_tensor, feature_datatype, select_outputs, v2_outputs, v2_rows

Endpoint = Callable[[Request], Awaitable[Response]]


def v1_rows(payload: Any, schema: InputSchema, max_rows: int) -> list[dict[str, Any]]:
    """The rows of a V1 ``{"instances": [...]}`` request (objects or lists in schema order)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
        raise MalformedBody('expected {"instances": [...]}')
    instances: list[Any] = payload["instances"]
    if not instances:
        raise MalformedBody("'instances' is empty; send at least one instance")
    if len(instances) > max_rows:
        raise BodyTooLarge(f"{len(instances)} instances exceed the limit of {max_rows}")
    names = schema.names
    rows: list[dict[str, Any]] = []
    for index, instance in enumerate(instances):
        if isinstance(instance, dict):
            rows.append(instance)
        elif isinstance(instance, list) and len(instance) == len(names):
            rows.append(dict(zip(names, instance, strict=True)))
        elif isinstance(instance, list):
            raise MalformedBody(
                f"instance {index} has {len(instance)} values; expected {len(names)} "
                f"in schema order: {', '.join(names)}"
            )
        else:
            raise MalformedBody(
                f"instance {index} must be an object of features or a list in schema order"
            )
    return rows


# -- endpoints -------------------------------------------------------------------------------


def _served(state: ServerState, request: Request) -> LoadedModel:
    """The served model, if the path names it (and its version, when given)."""
    model = state.manager.require_model()
    name = request.path_params["name"]
    if name != model.predictor.name:
        raise NotFound(
            f"model {name!r} is not served here; this server serves {model.predictor.name!r}"
        )
    version = request.path_params.get("version")
    if version is not None and version != model.version:
        raise NotFound(
            f"version {version!r} of model {name!r} is not served; the served version is "
            f"{model.version!r}"
        )
    return model


async def _read_payload(state: ServerState, request: Request) -> Any:
    return parse_json(await read_body(request, state.settings.server.max_body_bytes))


async def _predict(
    state: ServerState, model: LoadedModel, rows: list[dict[str, Any]]
) -> Sequence[RowOutput]:
    """Validate, then predict with the same batcher as ``/predict``; bad input is a 400 here."""
    try:
        model.predictor.validate(rows)
    except ValidationError as exc:
        raise MalformedBody(f"input does not match the model's schema: {exc}") from exc
    return await state.manager.predict(model, rows)


async def server_metadata(request: Request) -> Response:
    """V2 server metadata."""
    return FastJSONResponse({"name": "k8s-mlserve", "version": __version__, "extensions": []})


async def server_live(request: Request) -> Response:
    """V2 liveness: the process answers."""
    return FastJSONResponse({"live": True})


async def server_ready(request: Request) -> Response:
    """V2 readiness: a model is served and no shutdown is under way (else 503)."""
    state = server_state(request)
    ready = state.manager.current is not None and not state.shutting_down
    return FastJSONResponse({"ready": ready}, 200 if ready else 503)


async def model_metadata(request: Request) -> Response:
    """V2 model metadata: one input tensor per feature, the label and probability outputs."""
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
    """V2 model readiness."""
    state = server_state(request)
    model = _served(state, request)
    ready = not state.shutting_down
    return FastJSONResponse({"name": model.predictor.name, "ready": ready}, 200 if ready else 503)


async def infer(request: Request) -> Response:
    """V2 inference: tensors in, ``label``, ``probabilities`` and response fields out."""
    state = server_state(request)
    require_key(state, request)
    model = _served(state, request)
    payload = await _read_payload(state, request)
    rows = v2_rows(payload, model.predictor.schema, state.settings.server.max_instances)
    outputs = await _predict(state, model, rows)
    classes = model.predictor.classes
    keys = [str(c) for c in classes] if classes is not None else None
    tensors = select_outputs(v2_outputs(outputs, keys), payload)
    request_id = payload.get("id")
    return FastJSONResponse(
        {
            "model_name": model.predictor.name,
            "model_version": model.version,
            "id": request_id if isinstance(request_id, str) else uuid.uuid4().hex,
            "outputs": tensors,
        }
    )


async def v1_models(request: Request) -> Response:
    """V1 list of served models."""
    current = server_state(request).manager.current
    return FastJSONResponse({"models": [current.predictor.name] if current else []})


async def v1_model(request: Request) -> Response:
    """V1 model readiness."""
    state = server_state(request)
    model = _served(state, request)
    return FastJSONResponse({"name": model.predictor.name, "ready": not state.shutting_down})


async def v1_predict(request: Request) -> Response:
    """V1 prediction: ``{"instances": [...]}`` in, ``{"predictions": [label, ...]}`` out."""
    state = server_state(request)
    require_key(state, request)
    model = _served(state, request)
    payload = await _read_payload(state, request)
    rows = v1_rows(payload, model.predictor.schema, state.settings.server.max_instances)
    outputs = await _predict(state, model, rows)
    return FastJSONResponse({"predictions": [o[1] for o in outputs]})


def _label_datatype(model: LoadedModel) -> str:
    classes = model.predictor.classes
    if classes is None:
        return "FP64"
    return str(column_tensor("label", list(classes))["datatype"])


def _protocol_errors(handler: Endpoint) -> Endpoint:
    """Answer errors as the protocols do: ``{"error": "..."}`` with the HTTP status."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as exc:
            response = FastJSONResponse({"error": exc.message}, exc.status)
            if isinstance(exc, Unauthorized):
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        except ModelNotLoadedError as exc:
            return FastJSONResponse({"error": f"no model loaded: {exc}"}, 503)

    return endpoint


def protocol_routes() -> list[Route]:
    """The V2 and V1 routes; each has its own endpoint so metrics label it by its template."""
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
        ("/v1/models", v1_models, "GET"),
        ("/v1/models/{name}", v1_model, "GET"),
        ("/v1/models/{name}:predict", v1_predict, "POST"),
    ]
    return [Route(path, _protocol_errors(fn), methods=[method]) for path, fn, method in table]
