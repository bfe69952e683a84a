"""Standard inference protocols over the same core as ``/predict``.

- Open Inference Protocol (V2) REST: ``GET /v2``, ``GET /v2/health/live``,
  ``GET /v2/health/ready``, ``GET /v2/models/{name}[/versions/{version}]``, ``.../ready`` and
  ``POST .../infer``. Inputs are either one tensor per feature (named like the feature, shape
  ``[N]`` or ``[N, 1]``; ``BYTES`` for categorical features) or a single row-of-features tensor
  of shape ``[N, n_features]`` in schema order (all-numeric models only).
- KServe V1: ``GET /v1/models``, ``GET /v1/models/{name}``, ``POST /v1/models/{name}:predict``
  with ``{"instances": [...]}``, each instance an object or a list in schema order; the answer
  is ``{"predictions": [label, ...]}``.

Predictions go through the same API keys, schema validation and micro-batching as ``/predict``.
Errors take the protocols' shape ``{"error": "..."}``: 400 for a request the model cannot
take, 404 for an unknown model or version, 401/413/503 as on ``/predict``.
"""

from __future__ import annotations

import functools
import json
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from ..errors import ModelNotLoadedError, ValidationError
from ..schema import CategoricalFeature, InputSchema, NumericFeature
from ..serving import LoadedModel, RowOutput
from .body import parse_json, read_body
from .errors import BodyTooLarge, MalformedBody, NotFound, RequestError, Unauthorized
from .responses import FastJSONResponse
from .routes import require_key
from .state import ServerState, server_state

Endpoint = Callable[[Request], Awaitable[Response]]

_SIGNED = frozenset({"INT8", "INT16", "INT32", "INT64"})
_UNSIGNED = frozenset({"UINT8", "UINT16", "UINT32", "UINT64"})
_FLOATS = frozenset({"FP16", "FP32", "FP64"})
_NUMERIC = _SIGNED | _UNSIGNED | _FLOATS
DATATYPES = ("BOOL", *sorted(_UNSIGNED), *sorted(_SIGNED), *sorted(_FLOATS), "BYTES")
# Result keys that are not separate output tensors.
_NOT_TENSORS = frozenset({"label", "probabilities", "model_version"})


# -- decoding --------------------------------------------------------------------------------


def v2_rows(payload: Any, schema: InputSchema, max_rows: int) -> list[dict[str, Any]]:
    """The rows of a V2 inference request, as ``/predict`` takes them (not yet validated)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise MalformedBody('expected {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')
    tensors = [_tensor(raw, i) for i, raw in enumerate(payload["inputs"])]
    if not tensors:
        raise MalformedBody("'inputs' is empty; send one tensor per feature or one row tensor")
    names = schema.names
    if all(t.name in names for t in tensors):
        rows = _feature_tensors(tensors, schema)
    elif len(tensors) == 1:
        rows = _row_tensor(tensors[0], schema)
    else:
        unknown = [t.name for t in tensors if t.name not in names]
        raise MalformedBody(
            f"unknown input tensors {unknown}; send one tensor per feature "
            f"({', '.join(names)}) or a single [N, {len(names)}] tensor"
        )
    if not rows:
        raise MalformedBody("the input tensors hold no rows")
    if len(rows) > max_rows:
        raise BodyTooLarge(f"{len(rows)} rows exceed the limit of {max_rows} per request")
    return rows


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


class _Tensor:
    """One decoded request tensor with its data flattened in row-major order."""

    __slots__ = ("data", "datatype", "name", "shape")

    def __init__(self, name: str, shape: list[int], datatype: str, data: list[Any]) -> None:
        self.name = name
        self.shape = shape
        self.datatype = datatype
        self.data = data


def _tensor(raw: Any, index: int) -> _Tensor:
    if not isinstance(raw, dict):
        raise MalformedBody(f"input {index} must be an object with name, shape, datatype, data")
    name = raw.get("name")
    if not isinstance(name, str):
        raise MalformedBody(f"input {index} needs a string 'name'")
    shape = raw.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise MalformedBody(f"tensor {name!r}: 'shape' must be a list of non-negative integers")
    datatype = raw.get("datatype")
    if datatype not in DATATYPES:
        raise MalformedBody(
            f"tensor {name!r}: unknown datatype {datatype!r}; expected one of "
            + ", ".join(DATATYPES)
        )
    data = raw.get("data")
    if not isinstance(data, list):
        raise MalformedBody(f"tensor {name!r}: 'data' must be a list")
    flat = _flatten(data)
    if len(flat) != math.prod(shape):
        raise MalformedBody(
            f"tensor {name!r} has shape {shape} ({math.prod(shape)} elements) "
            f"but {len(flat)} data elements"
        )
    _check_elements(name, datatype, flat)
    return _Tensor(name, shape, datatype, flat)


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(v, list) for v in data):
        return data
    flat: list[Any] = []
    for value in data:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def _check_elements(name: str, datatype: str, data: list[Any]) -> None:
    """Each element must be of the declared datatype (null is left to schema validation)."""
    for value in data:
        if value is None:
            continue
        if datatype == "BYTES":
            ok = isinstance(value, str)
        elif datatype == "BOOL":
            ok = isinstance(value, bool)
        elif isinstance(value, bool):
            ok = False
        elif datatype in _FLOATS:
            ok = isinstance(value, int | float)
        else:
            ok = isinstance(value, int) and (datatype in _SIGNED or value >= 0)
        if not ok:
            raise MalformedBody(f"tensor {name!r} is {datatype} but holds {value!r}")


def _feature_tensors(tensors: Sequence[_Tensor], schema: InputSchema) -> list[dict[str, Any]]:
    by_name: dict[str, _Tensor] = {}
    for tensor in tensors:
        if tensor.name in by_name:
            raise MalformedBody(f"tensor {tensor.name!r} is given twice")
        by_name[tensor.name] = tensor
    missing = [name for name in schema.names if name not in by_name]
    if missing:
        raise MalformedBody(f"missing input tensors {missing}; send one tensor per feature")
    counts: set[int] = set()
    for feature in schema.features:
        tensor = by_name[feature.name]
        if len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ([], [1]):
            raise MalformedBody(
                f"tensor {tensor.name!r} has shape {tensor.shape}; expected [N] or [N, 1]"
            )
        _check_kind(tensor, feature)
        counts.add(tensor.shape[0])
    if len(counts) > 1:
        raise MalformedBody(f"input tensors disagree on the number of rows: {sorted(counts)}")
    columns = [(name, by_name[name].data) for name in schema.names]
    return [{name: data[i] for name, data in columns} for i in range(counts.pop())]


def _check_kind(tensor: _Tensor, feature: NumericFeature | CategoricalFeature) -> None:
    if isinstance(feature, CategoricalFeature) and tensor.datatype != "BYTES":
        raise MalformedBody(
            f"tensor {tensor.name!r} is a categorical feature: datatype must be BYTES, "
            f"got {tensor.datatype}"
        )
    if isinstance(feature, NumericFeature) and tensor.datatype not in _NUMERIC:
        raise MalformedBody(
            f"tensor {tensor.name!r} is a numeric feature: datatype must be INT*, UINT* or FP*, "
            f"got {tensor.datatype}"
        )


def _row_tensor(tensor: _Tensor, schema: InputSchema) -> list[dict[str, Any]]:
    names = schema.names
    width = len(names)
    if len(tensor.shape) != 2 or tensor.shape[1] != width:
        raise MalformedBody(
            f"tensor {tensor.name!r} has shape {tensor.shape}; a row-of-features tensor has "
            f"shape [N, {width}] (features {', '.join(names)})"
        )
    if not schema.all_numeric:
        raise MalformedBody(
            "this model has categorical features: send one tensor per feature "
            "(BYTES for the categorical ones) instead of a row-of-features tensor"
        )
    if tensor.datatype not in _NUMERIC:
        raise MalformedBody(
            f"tensor {tensor.name!r}: a row-of-features tensor must be numeric (INT*, UINT* or "
            f"FP*), got {tensor.datatype}"
        )
    data = tensor.data
    return [
        dict(zip(names, data[start : start + width], strict=True))
        for start in range(0, len(data), width)
    ]


# -- encoding --------------------------------------------------------------------------------


def v2_outputs(
    outputs: Sequence[RowOutput], class_keys: Sequence[str] | None
) -> list[dict[str, Any]]:
    """Output tensors: ``label``, ``probabilities`` [N, n_classes] and the response fields."""
    results = [o[0] for o in outputs]
    count = len(results)
    tensors = [_column_tensor("label", [o[1] for o in outputs])]
    if class_keys and results and "probabilities" in results[0]:
        tensors.append(
            {
                "name": "probabilities",
                "shape": [count, len(class_keys)],
                "datatype": "FP64",
                "parameters": {"classes": json.dumps(list(class_keys))},
                "data": [r["probabilities"][k] for r in results for k in class_keys],
            }
        )
    if results:
        for key in results[0]:
            if key not in _NOT_TENSORS:
                tensors.append(_column_tensor(key, [r[key] for r in results]))
    return tensors


def _column_tensor(name: str, values: list[Any]) -> dict[str, Any]:
    if all(isinstance(v, bool) for v in values):
        datatype = "BOOL"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        datatype = "INT64"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        datatype = "FP64"
    else:
        datatype, values = "BYTES", [str(v) for v in values]
    return {"name": name, "shape": [len(values)], "datatype": datatype, "data": values}


def _select(tensors: list[dict[str, Any]], payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Keep the outputs the request names in ``outputs`` (all of them when it names none)."""
    wanted = payload.get("outputs")
    if wanted is None:
        return tensors
    if not isinstance(wanted, list) or not all(
        isinstance(w, dict) and isinstance(w.get("name"), str) for w in wanted
    ):
        raise MalformedBody("'outputs' must be a list of objects with a 'name'")
    available = {t["name"]: t for t in tensors}
    unknown = [w["name"] for w in wanted if w["name"] not in available]
    if unknown:
        raise MalformedBody(f"unknown outputs {unknown}; available: {', '.join(available)}")
    return [available[w["name"]] for w in wanted]


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


async def _predict(state: ServerState, model: LoadedModel, rows: list[dict[str, Any]]) -> Any:
    try:
        model.predictor.validate(rows)
    except ValidationError as exc:
        raise MalformedBody(f"input does not match the model's schema: {exc}") from exc
    return await state.manager.predict(model, rows)


async def server_metadata(request: Request) -> Response:
    return FastJSONResponse({"name": "k8s-mlserve", "version": __version__, "extensions": []})


async def server_live(request: Request) -> Response:
    return FastJSONResponse({"live": True})


async def server_ready(request: Request) -> Response:
    state = server_state(request)
    ready = state.manager.current is not None and not state.shutting_down
    return FastJSONResponse({"ready": ready}, 200 if ready else 503)


async def model_metadata(request: Request) -> Response:
    model = _served(server_state(request), request)
    predictor = model.predictor
    inputs = [
        {"name": f.name, "datatype": _feature_datatype(f), "shape": [-1]}
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
    state = server_state(request)
    model = _served(state, request)
    ready = not state.shutting_down
    return FastJSONResponse({"name": model.predictor.name, "ready": ready}, 200 if ready else 503)


async def infer(request: Request) -> Response:
    state = server_state(request)
    require_key(state, request)
    model = _served(state, request)
    payload = await _read_payload(state, request)
    rows = v2_rows(payload, model.predictor.schema, state.settings.server.max_instances)
    outputs = await _predict(state, model, rows)
    classes = model.predictor.classes
    keys = [str(c) for c in classes] if classes is not None else None
    tensors = _select(v2_outputs(outputs, keys), payload)
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
    current = server_state(request).manager.current
    return FastJSONResponse({"models": [current.predictor.name] if current else []})


async def v1_model(request: Request) -> Response:
    state = server_state(request)
    model = _served(state, request)
    return FastJSONResponse({"name": model.predictor.name, "ready": not state.shutting_down})


async def v1_predict(request: Request) -> Response:
    state = server_state(request)
    require_key(state, request)
    model = _served(state, request)
    payload = await _read_payload(state, request)
    rows = v1_rows(payload, model.predictor.schema, state.settings.server.max_instances)
    outputs = await _predict(state, model, rows)
    return FastJSONResponse({"predictions": [o[1] for o in outputs]})


def _feature_datatype(feature: NumericFeature | CategoricalFeature) -> str:
    if isinstance(feature, CategoricalFeature):
        return "BYTES"
    return "INT64" if feature.dtype == "integer" else "FP64"


def _label_datatype(model: LoadedModel) -> str:
    classes = model.predictor.classes
    if classes is None:
        return "FP64"
    return str(_column_tensor("label", list(classes))["datatype"])


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
