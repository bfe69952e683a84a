"""The binary tensor data extension of the V2 protocol: binary inputs, binary outputs, and every
way a client can get the framing wrong answered 400 (never 5xx).

The bytes are built here independently of ``server/binary`` (``struct`` and explicit numpy
dtypes), so that the module is checked against the wire format, not against itself.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import pytest

from k8s_mlserve.errors import MalformedRequestError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server.binary import HEADER, read_request
from k8s_mlserve.server.tensors import DATATYPES
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import ROWS, FakeSource
from .conftest import ClientFactory, key
from .test_v2 import MODEL, VERSIONED, by_name, feature_tensors

INFER = f"{MODEL}/infer"
# The wire format's element types: little-endian, BOOL one byte.
WIRE = {
    "BOOL": "<u1",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
FEATURES = (("x", "FP64"), ("count", "INT64"), ("colour", "BYTES"))


def encode(datatype: str, values: list[Any]) -> bytes:
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)
    return np.asarray(values, dtype=WIRE[datatype]).tobytes()


def decode(datatype: str, raw: bytes) -> list[Any]:
    if datatype != "BYTES":
        values: list[Any] = np.frombuffer(raw, dtype=WIRE[datatype]).tolist()
        return [bool(v) for v in values] if datatype == "BOOL" else values
    strings, offset = [], 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<I", raw, offset)
        strings.append(raw[offset + 4 : offset + 4 + length].decode())
        offset += 4 + length
    return strings


def binary_tensor(name: str, datatype: str, values: list[Any]) -> tuple[dict[str, Any], bytes]:
    """A tensor of shape [N] sent as binary data: its JSON description and its bytes."""
    raw = encode(datatype, values)
    tensor = {
        "name": name,
        "shape": [len(values)],
        "datatype": datatype,
        "parameters": {"binary_data_size": len(raw)},
    }
    return tensor, raw


def framed(header: dict[str, Any], *chunks: bytes) -> tuple[bytes, dict[str, str]]:
    """A body of the JSON header then the chunks, and the headers that describe it."""
    part = json.dumps(header).encode()
    return part + b"".join(chunks), {**key(), HEADER: str(len(part))}


def binary_features(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bytes]:
    """One binary tensor per feature of the toy model, and the binary part of the body."""
    tensors, chunks = [], []
    for name, datatype in FEATURES:
        tensor, raw = binary_tensor(name, datatype, [r[name] for r in rows])
        tensors.append(tensor)
        chunks.append(raw)
    return tensors, b"".join(chunks)


def post_binary(
    client: InProcessApp, header: dict[str, Any], *chunks: bytes, route: str = INFER
) -> Any:
    body, headers = framed(header, *chunks)
    return client.post(route, content=body, headers=headers)


def json_answer(client: InProcessApp, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(INFER, json=body, headers=key())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def unframe(response: Any) -> dict[str, Any]:
    """A binary answer as its JSON header with each binary output's data decoded in place."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    size = int(response.headers[HEADER])
    header: dict[str, Any] = json.loads(response.content[:size])
    offset = size
    for tensor in header["outputs"]:
        parameters = tensor.get("parameters", {})
        if "binary_data_size" in parameters:
            assert "data" not in tensor
            end = offset + parameters.pop("binary_data_size")
            tensor["data"] = decode(tensor["datatype"], response.content[offset:end])
            offset = end
            if not parameters:
                del tensor["parameters"]
    assert offset == len(response.content)
    return header


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert isinstance(message, str)
    return message


# -- decoding every datatype -----------------------------------------------------------------

EVERY_DATATYPE: dict[str, list[Any]] = {
    "BOOL": [True, False, True],
    "UINT8": [0, 7, 255],
    "UINT16": [0, 300, 65535],
    "UINT32": [0, 70000, 2**32 - 1],
    "UINT64": [0, 2**40, 2**64 - 1],
    "INT8": [-128, 0, 127],
    "INT16": [-32768, 5, 32767],
    "INT32": [-(2**31), 5, 2**31 - 1],
    "INT64": [-(2**63), 5, 2**63 - 1],
    "FP16": [0.5, -2.0, 65504.0],
    "FP32": [0.25, -1.5, 2.0**127],
    "FP64": [0.1, -1e300, 2.5],
    "BYTES": ["red", "", "héllo ✓"],
}


def test_every_datatype_is_covered() -> None:
    assert set(EVERY_DATATYPE) == set(DATATYPES)


@pytest.mark.parametrize(("datatype", "values"), list(EVERY_DATATYPE.items()))
def test_each_datatype_decodes_to_the_values_json_would_carry(
    datatype: str, values: list[Any]
) -> None:
    tensor, raw = binary_tensor("t", datatype, values)
    body, headers = framed({"inputs": [tensor]}, raw)
    payload = read_request(body, headers[HEADER])
    (decoded,) = payload["inputs"]
    assert decoded["data"] == values
    assert [type(v) for v in decoded["data"]] == [type(v) for v in values]


def test_a_request_without_the_header_is_plain_json() -> None:
    payload = read_request(b'{"inputs": []}', None)
    assert payload == {"inputs": []}


# -- inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [INFER, f"{VERSIONED}/infer"])
def test_binary_inputs_answer_what_json_inputs_answer(
    shared_client: InProcessApp, route: str
) -> None:
    tensors, raw = binary_features(ROWS)
    response = post_binary(shared_client, {"id": "b-1", "inputs": tensors}, raw, route=route)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert HEADER.lower() not in response.headers
    expected = json_answer(shared_client, {"id": "b-1", "inputs": feature_tensors(ROWS)})
    assert response.json() == expected


@pytest.mark.parametrize("datatype", sorted(set(WIRE) - {"BOOL"}))
def test_each_numeric_datatype_feeds_the_model_as_json_does(
    shared_client: InProcessApp, datatype: str
) -> None:
    values: list[Any] = [2, 0, 1, 3]
    if datatype.startswith("FP"):
        values = [2.0, 0.5, 1.25, 3.0]  # exact in FP16 too
    x, raw = binary_tensor("x", datatype, values)
    rest = [t for t in feature_tensors(ROWS) if t["name"] != "x"]
    response = post_binary(shared_client, {"id": "n", "inputs": [x, *rest]}, raw)
    as_json = {**x, "data": values}
    del as_json["parameters"]
    expected = json_answer(shared_client, {"id": "n", "inputs": [as_json, *rest]})
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_bool_and_bytes_are_checked_against_the_features_as_json_is(
    shared_client: InProcessApp,
) -> None:
    flags, raw = binary_tensor("x", "BOOL", [True, False, True, False])
    rest = [t for t in feature_tensors(ROWS) if t["name"] != "x"]
    binary = error(post_binary(shared_client, {"inputs": [flags, *rest]}, raw))
    as_json = {**flags, "data": [True, False, True, False]}
    del as_json["parameters"]
    plain = shared_client.post(INFER, json={"inputs": [as_json, *rest]}, headers=key())
    assert binary == error(plain)
    assert "numeric feature" in binary


def test_json_and_binary_inputs_mix_in_one_request(shared_client: InProcessApp) -> None:
    x, x_raw = binary_tensor("x", "FP64", [r["x"] for r in ROWS])
    colour, colour_raw = binary_tensor("colour", "BYTES", [r["colour"] for r in ROWS])
    count = next(t for t in feature_tensors(ROWS) if t["name"] == "count")
    # The binary parts follow the order of the binary inputs in "inputs", JSON ones between.
    response = post_binary(
        shared_client, {"id": "m", "inputs": [x, count, colour]}, x_raw, colour_raw
    )
    expected = json_answer(shared_client, {"id": "m", "inputs": feature_tensors(ROWS)})
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_binary_rows_go_through_the_same_validation(shared_client: InProcessApp) -> None:
    rest = [t for t in feature_tensors(ROWS[:1]) if t["name"] != "x"]
    headers = {**key(), "Content-Type": "application/json"}
    for value, text in ((math.nan, "NaN"), (1e300, "1e300"), (math.inf, "Infinity")):
        x, raw = binary_tensor("x", "FP64", [value])
        binary = error(post_binary(shared_client, {"inputs": [x, *rest]}, raw), 422)
        # NaN and Infinity are not JSON: written in by hand, as a client would send them.
        x_json = {"name": "x", "shape": [1], "datatype": "FP64", "data": ["VALUE"]}
        body = json.dumps({"inputs": [x_json, *rest]}).replace('"VALUE"', text)
        plain = shared_client.post(INFER, content=body.encode(), headers=headers)
        assert binary == error(plain, 422)
        assert "x" in binary
    colour, raw = binary_tensor("colour", "BYTES", ["purple"])
    others = [t for t in feature_tensors(ROWS[:1]) if t["name"] != "colour"]
    message = error(post_binary(shared_client, {"inputs": [*others, colour]}, raw), 422)
    assert "colour: value 'purple' was never seen" in message
    count, raw = binary_tensor("count", "UINT64", [2**64 - 1])
    others = [t for t in feature_tensors(ROWS[:1]) if t["name"] != "count"]
    assert "count" in error(post_binary(shared_client, {"inputs": [count, *others]}, raw), 422)


def test_the_body_limit_still_applies(client_factory: ClientFactory, toy_bundle: Bundle) -> None:
    client = client_factory(FakeSource(toy_bundle), server={"max_body_bytes": 1024})
    tensors, raw = binary_features([ROWS[0]] * 60)
    response = post_binary(client, {"inputs": tensors}, raw)
    assert "exceeds the limit of 1024 bytes" in error(response, 413)


def test_the_json_header_keeps_the_json_limits(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    response = post_binary(shared_client, {"inputs": tensors, "parameters": {"d": deep}}, raw)
    assert "nested deeper than the limit" in error(response)


# -- outputs ---------------------------------------------------------------------------------


def test_binary_data_output_answers_every_output_in_binary(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    request = {"id": "o", "inputs": tensors, "parameters": {"binary_data_output": True}}
    response = post_binary(shared_client, request, raw)
    header = json.loads(response.content[: int(response.headers[HEADER])])
    for tensor in header["outputs"]:
        assert "data" not in tensor
        assert tensor["parameters"]["binary_data_size"] > 0
    expected = json_answer(shared_client, {"id": "o", "inputs": feature_tensors(ROWS)})
    answer = unframe(response)
    assert answer == expected
    outputs = by_name(answer["outputs"])
    assert [o["datatype"] for o in answer["outputs"]] == ["BYTES", "FP64", "BOOL", "FP64", "BYTES"]
    assert outputs["probabilities"]["parameters"] == {"classes": '["no","yes"]'}


def test_binary_outputs_answer_json_inputs_too(shared_client: InProcessApp) -> None:
    request = {
        "id": "j",
        "inputs": feature_tensors(ROWS),
        "parameters": {"binary_data_output": True},
    }
    response = shared_client.post(INFER, json=request, headers=key())
    expected = json_answer(shared_client, {"id": "j", "inputs": feature_tensors(ROWS)})
    assert unframe(response) == expected


def test_each_requested_output_chooses_binary_or_json(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    outputs: list[dict[str, Any]] = [
        {"name": "risk", "parameters": {"binary_data": True}},
        {"name": "label", "parameters": {"binary_data": False}},
        {"name": "probabilities", "parameters": {"binary_data": True}},
        {"name": "is_yes"},
    ]
    response = post_binary(shared_client, {"id": "p", "inputs": tensors, "outputs": outputs}, raw)
    header = json.loads(response.content[: int(response.headers[HEADER])])
    sent_binary = {
        t["name"]: "binary_data_size" in t.get("parameters", {}) for t in header["outputs"]
    }
    assert sent_binary == {"risk": True, "label": False, "probabilities": True, "is_yes": False}
    plain = [{"name": o["name"]} for o in outputs]
    expected = json_answer(
        shared_client, {"id": "p", "inputs": feature_tensors(ROWS), "outputs": plain}
    )
    assert unframe(response) == expected


def test_outputs_asked_for_without_binary_data_answer_json(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    outputs = [{"name": "label", "parameters": {"binary_data": False}}]
    request = {"inputs": tensors, "outputs": outputs, "parameters": {"binary_data_output": True}}
    response = post_binary(shared_client, request, raw)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert [t["name"] for t in response.json()["outputs"]] == ["label"]


# -- hostile framing -------------------------------------------------------------------------


def valid_request() -> tuple[bytes, int]:
    """A valid framed body of the four toy rows, and the length of its JSON header."""
    tensors, raw = binary_features(ROWS)
    body, headers = framed({"inputs": tensors}, raw)
    return body, int(headers[HEADER])


@pytest.mark.parametrize(
    ("length", "message"),
    [
        ("abc", "invalid Inference-Header-Content-Length header 'abc'"),
        ("-5", "invalid Inference-Header-Content-Length header '-5'"),
        ("1.5", "invalid Inference-Header-Content-Length header '1.5'"),
        ("+5", "invalid Inference-Header-Content-Length header '+5'"),
        ("", "invalid Inference-Header-Content-Length header ''"),
        ("9" * 40, "invalid Inference-Header-Content-Length header"),
        ("0", "Inference-Header-Content-Length is 0"),
        ("100000", "Inference-Header-Content-Length is 100000 but the body has only"),
    ],
)
def test_a_wrong_header_length_is_400(
    shared_client: InProcessApp, length: str, message: str
) -> None:
    body, _ = valid_request()
    response = shared_client.post(INFER, content=body, headers={**key(), HEADER: length})
    assert message in error(response)


def test_a_header_length_that_cuts_the_json_is_400(shared_client: InProcessApp) -> None:
    body, size = valid_request()
    for length in (size - 1, size + 1, 1):
        response = shared_client.post(INFER, content=body, headers={**key(), HEADER: str(length)})
        assert error(response).startswith("malformed JSON"), length


def test_every_truncation_of_a_valid_body_is_400(shared_client: InProcessApp) -> None:
    body, size = valid_request()
    headers = {**key(), HEADER: str(size)}
    for end in range(size, len(body)):
        response = shared_client.post(INFER, content=body[:end], headers=headers)
        assert response.status_code == 400, (end, response.text)


def test_more_binary_data_than_declared_is_400(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    response = post_binary(shared_client, {"inputs": tensors}, raw, b"\x00\x01\x02")
    assert error(response) == (
        f"the body has 3 bytes of binary data beyond the {len(raw)} bytes the inputs declare "
        "in parameters.binary_data_size"
    )
    plain = feature_tensors(ROWS)
    assert "3 bytes of binary data beyond the 0" in error(
        post_binary(shared_client, {"inputs": plain}, b"abc")
    )


def test_less_binary_data_than_declared_is_400(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    colour_size = tensors[2]["parameters"]["binary_data_size"]
    response = post_binary(shared_client, {"inputs": tensors}, raw[:-1])
    assert error(response) == (
        f"tensor 'colour' declares binary_data_size {colour_size} but only {colour_size - 1} "
        "bytes of binary data are left after the inputs before it"
    )
    tensors[0]["parameters"]["binary_data_size"] = 10**15
    assert "declares binary_data_size 1000000000000000" in error(
        post_binary(shared_client, {"inputs": tensors}, raw)
    )


def test_binary_data_size_without_the_header_is_400(shared_client: InProcessApp) -> None:
    tensors, _ = binary_features(ROWS)
    response = shared_client.post(INFER, json={"inputs": tensors}, headers=key())
    assert "the request has no binary data: send the Inference-Header-Content-Length" in error(
        response
    )


@pytest.mark.parametrize(
    ("size", "shown"),
    [(-8, "-8"), ("32", "'32'"), (True, "True"), (None, "None"), (2.5, "2.5")],
)
def test_a_binary_data_size_that_is_not_a_byte_count_is_400(
    shared_client: InProcessApp, size: Any, shown: str
) -> None:
    tensors, raw = binary_features(ROWS)
    tensors[0]["parameters"]["binary_data_size"] = size
    assert error(post_binary(shared_client, {"inputs": tensors}, raw)) == (
        f"tensor 'x': parameters.binary_data_size must be a non-negative integer (bytes), "
        f"got {shown}"
    )


def test_a_size_not_matching_the_shape_is_400(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    tensors[0]["shape"] = [5]
    assert error(post_binary(shared_client, {"inputs": tensors}, raw)) == (
        "tensor 'x' has shape [5] and datatype FP64: binary_data_size must be 5 × 8 = 40 bytes, "
        "got 32"
    )
    tensors, raw = binary_features(ROWS)
    tensors[0]["datatype"] = "FP32"
    assert "binary_data_size must be 4 × 4 = 16 bytes, got 32" in error(
        post_binary(shared_client, {"inputs": tensors}, raw)
    )
    tensors, raw = binary_features(ROWS)
    tensors[2]["shape"] = [3]
    assert "tensor 'colour' has shape [3] (3 elements) but its" in error(
        post_binary(shared_client, {"inputs": tensors}, raw)
    )


def test_a_size_not_a_multiple_of_the_element_is_400(shared_client: InProcessApp) -> None:
    x, raw = binary_tensor("x", "FP64", [1.0])
    x["shape"] = "one"
    x["parameters"]["binary_data_size"] = 7
    message = error(post_binary(shared_client, {"inputs": [x]}, raw[:7]))
    assert message == (
        "tensor 'x': binary_data_size 7 is not a multiple of 8, the size of one FP64 element"
    )


def test_invalid_bytes_elements_are_400(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS[:1])
    numbers = raw[:16]  # x and count of one row
    cases = [
        (b"\x03\x00\x00\x00r\xffd", "BYTES element 0 is not valid UTF-8"),
        (b"\x03\x00\x00", "BYTES element 0 is cut short: 3 bytes left where its 4-byte length"),
        (encode("BYTES", ["red"]) + b"\x01", "BYTES element 1 is cut short: 1 bytes left"),
        (b"\xff\xff\xff\xffred", "BYTES element 0 declares 4294967295 bytes but only 3 are left"),
    ]
    for colour, message in cases:
        tensors[2]["parameters"]["binary_data_size"] = len(colour)
        response = post_binary(shared_client, {"inputs": tensors}, numbers, colour)
        assert f"tensor 'colour': {message}" in error(response), message


def test_a_bool_byte_other_than_0_or_1_is_400() -> None:
    tensor = {"name": "b", "shape": [2], "datatype": "BOOL", "parameters": {"binary_data_size": 2}}
    body, headers = framed({"inputs": [tensor]}, b"\x01\x02")
    with pytest.raises(MalformedRequestError, match="BOOL but holds the byte 2"):
        read_request(body, headers[HEADER])


def test_data_and_binary_data_size_together_are_400(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    tensors[0]["data"] = [r["x"] for r in ROWS]
    assert "tensor 'x' has both 'data' and parameters.binary_data_size" in error(
        post_binary(shared_client, {"inputs": tensors}, raw)
    )


def test_an_unknown_datatype_in_binary_is_400(shared_client: InProcessApp) -> None:
    tensors, raw = binary_features(ROWS)
    tensors[0]["datatype"] = "BF16"
    assert "tensor 'x': unknown datatype 'BF16'; expected one of BOOL" in error(
        post_binary(shared_client, {"inputs": tensors}, raw)
    )


@pytest.mark.parametrize(
    "header",
    [
        [1, 2],
        {"inputs": 3},
        {"inputs": ["x"]},
        {"inputs": [{"name": 5, "parameters": {"binary_data_size": 4}}]},
        {"inputs": [{"name": "x", "parameters": 5}]},
    ],
)
def test_malformed_headers_with_binary_data_are_400(
    shared_client: InProcessApp, header: Any
) -> None:
    body, headers = framed(header, b"\x00" * 4)
    response = shared_client.post(INFER, content=body, headers=headers)
    assert response.status_code == 400, response.text
