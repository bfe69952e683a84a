"""Open Inference Protocol (V2) tensors: request tensors to rows, results to output tensors.

A request carries either one tensor per feature (named like the feature, shape ``[N]`` or
``[N, 1]``; ``BYTES`` for categorical features) or a single row-of-features tensor of shape
``[N, n_features]`` in schema order (all-numeric models only). Data may be flat (row-major) or
nested. Anything else raises ``MalformedRequestError`` saying what was wrong and what would be
right.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MalformedRequestError
from ..inference.predictor import Predictions
from ..model.schema import CategoricalFeature, InputSchema, NumericFeature, short_repr
from .body import list_found

SIGNED = frozenset({"INT8", "INT16", "INT32", "INT64"})
UNSIGNED = frozenset({"UINT8", "UINT16", "UINT32", "UINT64"})
FLOATS = frozenset({"FP16", "FP32", "FP64"})
_NUMERIC = SIGNED | UNSIGNED | FLOATS
DATATYPES = ("BOOL", *sorted(UNSIGNED), *sorted(SIGNED), *sorted(FLOATS), "BYTES")
MAX_RANK = 8
"""Dimensions a request tensor may have (V2 rows are [N] or [N, features])."""
# Result keys that are not separate output tensors.
_NOT_TENSORS = frozenset({"label", "probabilities", "model_version"})


# -- decoding --------------------------------------------------------------------------------


def v2_rows(payload: Any, schema: InputSchema) -> list[dict[str, Any]]:
    """The rows of a V2 inference request, as ``/predict`` takes them (not yet validated)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        got = list_found(payload, "inputs")
        raise MalformedRequestError(
            f'expected {{"inputs": [{{"name", "shape", "datatype", "data"}}, ...]}}, got {got}'
        )
    tensors = [_tensor(raw, i) for i, raw in enumerate(payload["inputs"])]
    if not tensors:
        raise MalformedRequestError(
            "'inputs' is empty; send one tensor per feature or one row tensor"
        )
    names = schema.names
    if all(t.name in names for t in tensors):
        rows = _feature_tensors(tensors, schema)
    elif len(tensors) == 1:
        rows = _row_tensor(tensors[0], schema)
    else:
        unknown = [t.name for t in tensors if t.name not in names]
        raise MalformedRequestError(
            f"unknown input tensors {unknown}; send one tensor per feature "
            f"({', '.join(names)}) or a single [N, {len(names)}] tensor"
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
        raise MalformedRequestError(
            f"input {index} must be an object with name, shape, datatype, data"
        )
    name = raw.get("name")
    if not isinstance(name, str):
        raise MalformedRequestError(f"input {index} needs a string 'name'")
    shape = raw.get("shape")
    if isinstance(shape, list) and len(shape) > MAX_RANK:
        raise MalformedRequestError(
            f"tensor {short_repr(name)}: 'shape' has {len(shape)} dimensions; at most {MAX_RANK}"
        )
    dimensions = [dimension(d) for d in shape] if isinstance(shape, list) else [None]
    if any(d is None for d in dimensions):
        raise MalformedRequestError(
            f"tensor {name!r}: 'shape' must be a list of non-negative integers"
        )
    shape = [d for d in dimensions if d is not None]
    datatype = raw.get("datatype")
    if datatype not in DATATYPES:
        raise MalformedRequestError(
            f"tensor {name!r}: unknown datatype {datatype!r}; expected one of "
            + ", ".join(DATATYPES)
        )
    data = raw.get("data")
    if not isinstance(data, list):
        raise MalformedRequestError(f"tensor {name!r}: 'data' must be a list")
    flat = _flatten(data)
    if len(flat) != math.prod(shape):
        raise MalformedRequestError(
            f"tensor {name!r} has shape {shape} ({math.prod(shape)} elements) "
            f"but {len(flat)} data elements"
        )
    _check_elements(name, datatype, flat)
    return _Tensor(name, shape, datatype, flat)


def dimension(value: Any) -> int | None:
    """A shape entry as an int; JSON does not tell 2 from 2.0, so both are accepted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= 0 else None


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
        elif datatype in FLOATS:
            ok = isinstance(value, int | float)
        else:
            ok = isinstance(value, int) and (datatype in SIGNED or value >= 0)
        if not ok:
            raise MalformedRequestError(
                f"tensor {short_repr(name)} is {datatype} but holds {short_repr(value)}"
            )


def _feature_tensors(tensors: Sequence[_Tensor], schema: InputSchema) -> list[dict[str, Any]]:
    by_name: dict[str, _Tensor] = {}
    for tensor in tensors:
        if tensor.name in by_name:
            raise MalformedRequestError(f"tensor {tensor.name!r} is given twice")
        by_name[tensor.name] = tensor
    missing = [name for name in schema.names if name not in by_name]
    if missing:
        raise MalformedRequestError(f"missing input tensors {missing}; send one tensor per feature")
    counts: set[int] = set()
    for feature in schema.features:
        tensor = by_name[feature.name]
        if len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ([], [1]):
            raise MalformedRequestError(
                f"tensor {tensor.name!r} has shape {tensor.shape}; expected [N] or [N, 1]"
            )
        _check_kind(tensor, feature)
        counts.add(tensor.shape[0])
    if len(counts) > 1:
        raise MalformedRequestError(
            f"input tensors disagree on the number of rows: {sorted(counts)}"
        )
    columns = [(name, by_name[name].data) for name in schema.names]
    return [{name: data[i] for name, data in columns} for i in range(counts.pop())]


def _check_kind(tensor: _Tensor, feature: NumericFeature | CategoricalFeature) -> None:
    if isinstance(feature, CategoricalFeature) and tensor.datatype != "BYTES":
        raise MalformedRequestError(
            f"tensor {tensor.name!r} is a categorical feature: datatype must be BYTES, "
            f"got {tensor.datatype}"
        )
    if isinstance(feature, NumericFeature) and tensor.datatype not in _NUMERIC:
        raise MalformedRequestError(
            f"tensor {tensor.name!r} is a numeric feature: datatype must be INT*, UINT* or FP*, "
            f"got {tensor.datatype}"
        )


def _row_tensor(tensor: _Tensor, schema: InputSchema) -> list[dict[str, Any]]:
    names = schema.names
    width = len(names)
    if len(tensor.shape) != 2 or tensor.shape[1] != width:
        raise MalformedRequestError(
            f"tensor {tensor.name!r} has shape {tensor.shape}; a row-of-features tensor has "
            f"shape [N, {width}] (features {', '.join(names)})"
        )
    if not schema.all_numeric:
        raise MalformedRequestError(
            "this model has categorical features: send one tensor per feature "
            "(BYTES for the categorical ones) instead of a row-of-features tensor"
        )
    if tensor.datatype not in _NUMERIC:
        raise MalformedRequestError(
            f"tensor {tensor.name!r}: a row-of-features tensor must be numeric (INT*, UINT* or "
            f"FP*), got {tensor.datatype}"
        )
    data = tensor.data
    return [
        dict(zip(names, data[start : start + width], strict=True))
        for start in range(0, len(data), width)
    ]


# -- encoding --------------------------------------------------------------------------------


def v2_outputs(predictions: Predictions, class_keys: Sequence[str] | None) -> list[dict[str, Any]]:
    """Output tensors: ``label``, ``probabilities`` [N, n_classes] and the response fields."""
    results = predictions.results
    count = len(results)
    tensors = [column_tensor("label", list(predictions.labels))]
    if class_keys and results and "probabilities" in results[0]:
        tensors.append(
            {
                "name": "probabilities",
                "shape": [count, len(class_keys)],
                "datatype": "FP64",
                "parameters": {"classes": json.dumps(list(class_keys), separators=(",", ":"))},
                "data": [r["probabilities"][k] for r in results for k in class_keys],
            }
        )
    if results:
        for key in results[0]:
            if key not in _NOT_TENSORS:
                tensors.append(column_tensor(key, [r[key] for r in results]))
    return tensors


def column_tensor(name: str, values: list[Any]) -> dict[str, Any]:
    """A ``[N]`` output tensor of ``values``, typed BOOL, INT64, FP64 or else BYTES."""
    if all(isinstance(v, bool) for v in values):
        datatype = "BOOL"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        datatype = "INT64"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        datatype = "FP64"
    else:
        datatype, values = "BYTES", [str(v) for v in values]
    return {"name": name, "shape": [len(values)], "datatype": datatype, "data": values}


def select_outputs(
    tensors: list[dict[str, Any]], payload: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Keep the outputs the request names in ``outputs`` (all of them when it names none)."""
    wanted = payload.get("outputs")
    if wanted is None or wanted == []:
        return tensors
    if not isinstance(wanted, list) or not all(
        isinstance(w, dict) and isinstance(w.get("name"), str) for w in wanted
    ):
        raise MalformedRequestError("'outputs' must be a list of objects with a 'name'")
    available = {t["name"]: t for t in tensors}
    unknown = [w["name"] for w in wanted if w["name"] not in available]
    if unknown:
        raise MalformedRequestError(f"unknown outputs {unknown}; available: {', '.join(available)}")
    return [available[w["name"]] for w in wanted]


def feature_datatype(feature: NumericFeature | CategoricalFeature) -> str:
    """The datatype a feature's input tensor is described with in the model metadata."""
    if isinstance(feature, CategoricalFeature):
        return "BYTES"
    return "INT64" if feature.dtype == "integer" else "FP64"
