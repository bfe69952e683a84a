"""Request bodies: the size limit, JSON parsing and the rows of a /predict body."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from k8s_mlserve.errors import MalformedRequestError, RequestTooLargeError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server.body import extract_instances, parse_json, read_body
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import ROW, FakeSource
from .conftest import ClientFactory, key


class Body:
    """An ASGI ``receive`` handing out ``chunks`` one message at a time, counting the reads."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.reads = 0

    async def __call__(self) -> Message:
        self.reads += 1
        index = self.reads - 1
        if index >= len(self.chunks):
            raise AssertionError("the body was read past its last chunk")
        return {
            "type": "http.request",
            "body": self.chunks[index],
            "more_body": index < len(self.chunks) - 1,
        }


def request(body: Body, headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/predict",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope, body)


def read(body: Body, limit: int, headers: dict[str, str] | None = None) -> bytes:
    return asyncio.run(read_body(request(body, headers), limit))


# -- read_body -------------------------------------------------------------------------------


def test_a_body_within_the_limit_is_read_whole() -> None:
    body = Body([b'{"x": ', b"1", b"}"])
    assert read(body, 100, {"Content-Length": "8"}) == b'{"x": 1}'
    assert body.reads == 3


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    body = Body([b"x" * 2000])
    with pytest.raises(RequestTooLargeError) as raised:
        read(body, 1024, {"Content-Length": "2000"})
    assert raised.value.message == "body of 2000 bytes exceeds the limit of 1024 bytes"
    assert body.reads == 0


def test_a_streamed_body_over_the_limit_stops_being_read() -> None:
    body = Body([b"x" * 600] * 5)
    with pytest.raises(RequestTooLargeError, match="body exceeds the limit of 1000 bytes"):
        read(body, 1000)
    assert body.reads == 2  # 1200 bytes seen: the three chunks left are never read


def test_a_content_length_that_understates_the_body_does_not_get_past_the_limit() -> None:
    body = Body([b"x" * 800, b"x" * 800])
    with pytest.raises(RequestTooLargeError, match="limit of 1000 bytes"):
        read(body, 1000, {"Content-Length": "10"})


@pytest.mark.parametrize("declared", ["abc", "", "1e3"])
def test_an_invalid_content_length_is_malformed(declared: str) -> None:
    body = Body([b"{}"])
    with pytest.raises(MalformedRequestError, match="invalid Content-Length header"):
        read(body, 1000, {"Content-Length": declared})
    assert body.reads == 0


def test_the_server_answers_a_body_over_its_limit_with_413(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    client = client_factory(FakeSource(toy_bundle), server={"max_body_bytes": 1024})
    headers = {**key(), "Content-Type": "application/json"}
    response = client.post("/predict", content=b" " * 2000, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "body of 2000 bytes exceeds the limit of 1024 bytes"
    )


# -- parse_json ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"  \n\t "])
def test_an_empty_body_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedRequestError, match="empty body; send a JSON object"):
        parse_json(raw)


def test_json_is_parsed() -> None:
    assert parse_json(b'{"instances": [{"x": 1.5, "colour": "red"}]}') == {
        "instances": [{"x": 1.5, "colour": "red"}]
    }


def test_nan_and_infinity_are_parsed_so_that_validation_can_name_the_field() -> None:
    row = parse_json(b'{"x": NaN, "count": Infinity, "y": -Infinity}')
    assert math.isnan(row["x"])
    assert row["count"] == math.inf
    assert row["y"] == -math.inf


@pytest.mark.parametrize("raw", [b"{not json", b'{"x": 1,}', b"\x80\x81", b'{"x": 1'])
def test_malformed_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedRequestError, match=r"^malformed JSON: "):
        parse_json(raw)


def test_a_non_finite_number_is_a_422_naming_the_field(shared_client: InProcessApp) -> None:
    headers = {**key(), "Content-Type": "application/json"}
    response = shared_client.post(
        "/predict", content=b'{"x": NaN, "count": 3, "colour": "red"}', headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "x", "message": "must be a finite number, got nan"}
    ]


# -- extract_instances -----------------------------------------------------------------------


def test_one_object_is_one_row() -> None:
    assert extract_instances(ROW) == ([ROW], True)


def test_instances_are_the_rows() -> None:
    other = {**ROW, "colour": "blue"}
    assert extract_instances({"instances": [ROW, other]}) == ([ROW, other], False)
    assert extract_instances({"instances": []}) == ([], False)


def test_instances_must_be_a_list() -> None:
    with pytest.raises(MalformedRequestError, match="'instances' must be a list of JSON objects"):
        extract_instances({"instances": ROW})


def test_an_object_with_more_than_instances_is_one_row_of_features() -> None:
    payload: dict[str, Any] = {"instances": [ROW], "extra": 1}
    assert extract_instances(payload) == ([payload], True)


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        ([ROW], "array"),
        (None, "null"),
        (3, "number"),
        (2.5, "number"),
        ("x", "string"),
        (True, "boolean"),
    ],
)
def test_a_body_that_is_not_an_object_is_malformed_named_in_json_terms(
    payload: Any, name: str
) -> None:
    with pytest.raises(MalformedRequestError) as raised:
        extract_instances(payload)
    assert raised.value.message == (
        f'expected a JSON object of features or {{"instances": [...]}}, got {name}'
    )


def test_the_server_answers_single_rows_and_instances_in_their_own_shapes(
    shared_client: InProcessApp,
) -> None:
    single = shared_client.post("/predict", json=ROW, headers=key()).json()
    assert set(single) >= {"label", "probabilities", "model_version"}
    many = shared_client.post("/predict", json={"instances": [ROW, ROW]}, headers=key()).json()
    assert many == {"predictions": [single, single], "model_version": "v1"}
