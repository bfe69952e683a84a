"""The binary tensor data extension of the Open Inference Protocol (V2): framing in and out.

A request with the header ``Inference-Header-Content-Length: N`` carries its JSON inference
header in the first N bytes of the body, then the raw data of each input whose
``parameters.binary_data_size`` is set, one after the other in the order of ``inputs``:
little-endian and row-major, BOOL one byte (0 or 1), each BYTES element a 4-byte little-endian
length then its UTF-8 bytes. ``read_request`` turns such a body into the payload the same request
in JSON would have been (each binary input gets its elements as a ``data`` list), so ``tensors``
reads, and the core validates, both alike. ``encode_answer`` sends the outputs the request asks
for in binary (``parameters.binary_data`` on a requested output, or
``parameters.binary_data_output`` on the request) the same way, after the JSON header.

Sizes a client declares are checked against the bytes really sent before anything is sliced;
whatever does not add up raises ``MalformedRequestError`` (400).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

from ..errors import MalformedRequestError
from ..model.schema import short_repr
from .body import parse_json
from .responses import FastJSONResponse
from .tensors import DATATYPES, MAX_RANK, dimension

HEADER = "Inference-Header-Content-Length"
"""The request and response header giving the byte length of the JSON part of the body."""
MEDIA_TYPE = "application/octet-stream"
"""The content type of an answer with binary outputs."""

# Explicitly little-endian, whatever the machine: the extension's byte order.
_DTYPES: dict[str, str] = {
    "BOOL": "u1",
    "UINT8": "u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
_PREFIX = 4
"""Bytes of the length before each BYTES element."""
_MAX_DIGITS = 20
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


# -- requests --------------------------------------------------------------------------------


def read_request(body: bytes, header_length: str | None) -> Any:
    """The inference request in ``body``, binary inputs decoded into ``data`` lists.

    ``header_length``: the ``Inference-Header-Content-Length`` header, ``None`` when absent (then
    the whole body is the JSON request).
    """
    if header_length is None:
        payload = parse_json(body)
        _decode_inputs(payload, memoryview(b""), framed=False)
        return payload
    size = _header_size(header_length, len(body))
    payload = parse_json(body[:size])
    _decode_inputs(payload, memoryview(body)[size:], framed=True)
    return payload


def _header_size(value: str, body_size: int) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS):
        raise MalformedRequestError(
            f"invalid {HEADER} header {short_repr(value)}; expected the byte length of the JSON "
            "inference header at the start of the body (a non-negative integer)"
        )
    size = int(text)
    if size == 0:
        raise MalformedRequestError(
            f"{HEADER} is 0; the body must start with the JSON inference header, of that length"
        )
    if size > body_size:
        raise MalformedRequestError(
            f"{HEADER} is {size} but the body has only {body_size} bytes; it must give the byte "
            "length of the JSON inference header at the start of the body"
        )
    return size


def _decode_inputs(payload: Any, binary: memoryview, *, framed: bool) -> None:
    """Give each input that declares ``binary_data_size`` its elements, taken from ``binary``."""
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    offset = 0
    for index, raw in enumerate(inputs if isinstance(inputs, list) else []):
        size = _declared_size(raw, index)
        if size is None:
            continue
        label = _label(raw, index)
        if "data" in raw:
            raise MalformedRequestError(
                f"tensor {label} has both 'data' and parameters.binary_data_size; send its "
                "elements in one of them"
            )
        left = len(binary) - offset
        if size > left:
            if not framed:
                raise MalformedRequestError(
                    f"tensor {label} declares binary_data_size {size} but the request has no "
                    f"binary data: send the {HEADER} header with the byte length of the JSON part"
                )
            raise MalformedRequestError(
                f"tensor {label} declares binary_data_size {size} but only {left} bytes of "
                "binary data are left after the inputs before it"
            )
        chunk = binary[offset : offset + size]
        raw["data"] = _elements(label, raw.get("datatype"), raw.get("shape"), chunk)
        offset += size
    if offset < len(binary):
        raise MalformedRequestError(
            f"the body has {len(binary) - offset} bytes of binary data beyond the {offset} bytes "
            "the inputs declare in parameters.binary_data_size"
        )


def _declared_size(raw: Any, index: int) -> int | None:
    if not isinstance(raw, dict):
        return None
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
        return None
    size = parameters["binary_data_size"]
    if isinstance(size, float) and size.is_integer():
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MalformedRequestError(
            f"tensor {_label(raw, index)}: parameters.binary_data_size must be a non-negative "
            f"integer (bytes), got {short_repr(size)}"
        )
    return size


def _label(raw: dict[str, Any], index: int) -> str:
    name = raw.get("name")
    return short_repr(name) if isinstance(name, str) else f"at input {index}"


def _elements(label: str, datatype: Any, shape: Any, data: memoryview) -> list[Any]:
    """The elements of one binary tensor, as the python values JSON data would have given."""
    count = _element_count(shape)
    if datatype == "BYTES":
        strings = _strings(label, data)
        if count is not None and len(strings) != count:
            raise MalformedRequestError(
                f"tensor {label} has shape {shape} ({count} elements) but its {len(data)} bytes "
                f"of binary data hold {len(strings)} BYTES elements"
            )
        return strings
    if datatype not in _DTYPES:
        raise MalformedRequestError(
            f"tensor {label}: unknown datatype {short_repr(datatype)}; expected one of "
            + ", ".join(DATATYPES)
        )
    dtype = np.dtype(_DTYPES[datatype])
    if count is not None and len(data) != count * dtype.itemsize:
        raise MalformedRequestError(
            f"tensor {label} has shape {shape} and datatype {datatype}: binary_data_size must be "
            f"{count} × {dtype.itemsize} = {count * dtype.itemsize} bytes, got {len(data)}"
        )
    if len(data) % dtype.itemsize:
        raise MalformedRequestError(
            f"tensor {label}: binary_data_size {len(data)} is not a multiple of "
            f"{dtype.itemsize}, the size of one {datatype} element"
        )
    array = np.frombuffer(data, dtype=dtype)
    if datatype == "BOOL":
        if array.size and int(array.max()) > 1:
            raise MalformedRequestError(
                f"tensor {label} is BOOL but holds the byte {int(array.max())}; a BOOL element "
                "is one byte, 0 or 1"
            )
        array = array.astype(bool)
    values: list[Any] = array.tolist()
    return values


def _element_count(shape: Any) -> int | None:
    """Elements a valid shape holds; ``None`` for an invalid one, which ``tensors`` refuses."""
    if not isinstance(shape, list) or len(shape) > MAX_RANK:
        return None
    dimensions = [dimension(value) for value in shape]
    if any(d is None for d in dimensions):
        return None
    return math.prod(d for d in dimensions if d is not None)


def _strings(label: str, data: memoryview) -> list[str]:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes of UTF-8."""
    elements: list[str] = []
    offset, end = 0, len(data)
    while offset < end:
        at = len(elements)
        if end - offset < _PREFIX:
            raise MalformedRequestError(
                f"tensor {label}: BYTES element {at} is cut short: {end - offset} bytes left "
                f"where its {_PREFIX}-byte length was expected"
            )
        length = int.from_bytes(data[offset : offset + _PREFIX], "little")
        offset += _PREFIX
        if length > end - offset:
            raise MalformedRequestError(
                f"tensor {label}: BYTES element {at} declares {length} bytes but only "
                f"{end - offset} are left in its binary data"
            )
        try:
            elements.append(str(data[offset : offset + length], "utf-8"))
        except UnicodeDecodeError:
            raise MalformedRequestError(
                f"tensor {label}: BYTES element {at} is not valid UTF-8; send text"
            ) from None
        offset += length
    return elements


# -- answers ---------------------------------------------------------------------------------


def encode_answer(answer: dict[str, Any], payload: Mapping[str, Any]) -> Response:
    """The inference response: JSON, or the JSON header then the outputs asked for in binary."""
    binary = _binary_outputs(payload)
    if not any(binary.get(t["name"], binary[None]) for t in answer["outputs"]):
        return FastJSONResponse(answer)
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for tensor in answer["outputs"]:
        if binary.get(tensor["name"], binary[None]):
            raw = _encode(tensor["datatype"], tensor["data"])
            parameters = {**tensor.get("parameters", {}), "binary_data_size": len(raw)}
            tensor = {k: v for k, v in tensor.items() if k != "data"} | {"parameters": parameters}
            chunks.append(raw)
        outputs.append(tensor)
    header = orjson.dumps({**answer, "outputs": outputs}, option=_JSON_OPTIONS)
    return Response(
        b"".join([header, *chunks]), media_type=MEDIA_TYPE, headers={HEADER: str(len(header))}
    )


def _binary_outputs(payload: Mapping[str, Any]) -> dict[str | None, bool]:
    """Output name -> answered in binary; under ``None``, the request's default."""
    parameters = payload.get("parameters")
    default = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    wanted: dict[str | None, bool] = {None: default}
    requested = payload.get("outputs")
    for output in requested if isinstance(requested, list) else []:
        options = output.get("parameters") if isinstance(output, dict) else None
        if isinstance(options, dict) and "binary_data" in options:
            wanted[output["name"]] = options["binary_data"] is True
    return wanted


def _encode(datatype: str, data: list[Any]) -> bytes:
    if datatype == "BYTES":
        parts: list[bytes] = []
        for value in data:
            encoded = str(value).encode("utf-8")
            parts += (len(encoded).to_bytes(_PREFIX, "little"), encoded)
        return b"".join(parts)
    return np.asarray(data, dtype=_DTYPES[datatype]).tobytes()
