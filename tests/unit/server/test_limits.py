"""Every input is bounded, and an unexpected error is a short 500 that keeps the connection.

Each case of issue 13 that used to answer 500 (or an unbounded 422) is sent through the real app.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from typing import Any

import pandas as pd
import pytest

from k8s_mlserve.errors import MalformedRequestError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server.body import MAX_JSON_DEPTH, MAX_NON_FINITE, parse_json
from k8s_mlserve.server.errors import MAX_DETAILS
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROW, FakeSource
from .conftest import ClientFactory, key

V1 = f"/v1/models/{MODEL_NAME}:predict"
V2 = f"/v2/models/{MODEL_NAME}/infer"
POISON = 13.0  # the value of ``x`` on which the failing model raises


def post_raw(client: InProcessApp, route: str, raw: bytes) -> Any:
    return client.post(route, content=raw, headers={**key(), "Content-Type": "application/json"})


def nested(depth: int) -> bytes:
    return b'{"x": ' + b"[" * depth + b"]" * depth + b', "count": 3, "colour": "red"}'


# -- JSON: one parser, bounded ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_100, 100_000])
def test_deep_nesting_is_a_400_naming_the_limit(shared_client: InProcessApp, depth: int) -> None:
    for route in ("/predict", V1, V2):
        response = post_raw(shared_client, route, nested(depth))
        assert response.status_code == 400, (route, response.text)
        assert f"limit of {MAX_JSON_DEPTH} levels" in response.text


def test_nesting_within_the_limit_reaches_validation(shared_client: InProcessApp) -> None:
    response = post_raw(shared_client, "/predict", nested(MAX_JSON_DEPTH - 1))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "x"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"x": "not a number", "x": 0.5, "count": 3, "colour": "red"}', 200),
        (b'{"x": 0.5, "x": "not a number", "count": 3, "colour": "red"}', 422),
    ],
)
def test_a_duplicate_key_takes_its_last_value_as_documented(
    shared_client: InProcessApp, raw: bytes, status: int
) -> None:
    response = post_raw(shared_client, "/predict", raw)
    assert response.status_code == status, response.text


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert parse_json(b'{"x": "' + b"[" * 500 + b'"}') == {"x": "[" * 500}


@pytest.mark.parametrize(
    "literal", [b"1" * 400, b"1" * 5_000, b"1e309", b"-1e309", b"1e99999999999999999999"]
)
def test_a_number_beyond_a_double_is_a_400(shared_client: InProcessApp, literal: bytes) -> None:
    raw = b'{"x": ' + literal + b', "count": 3, "colour": "red"}'
    response = post_raw(shared_client, "/predict", raw)
    assert response.status_code == 400, response.text
    assert "too large; numbers must fit in a 64-bit float" in response.text


@pytest.mark.parametrize("field", ["x", "count"])
def test_a_41_digit_integer_is_a_422_naming_the_field(
    shared_client: InProcessApp, field: str
) -> None:
    raw = f'{{"x": 0.5, "count": 3, "colour": "red", "{field}": {"9" * 41}}}'.encode()
    response = post_raw(shared_client, "/predict", raw)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"\\ud800": 1, "x": 0.5, "count": 3, "colour": "red"}',
        b'{"x": 0.5, "count": 3, "colour": "\\ud800"}',
        b'{"x": 0.5, "count": 3, "colour": "\\udc00\\ud800"}',
        b'{"x": 0.5, "count": 3, "colour": "\xed\xa0\x80"}',
    ],
)
def test_a_lone_surrogate_is_a_400(shared_client: InProcessApp, raw: bytes) -> None:
    for route in ("/predict", V1):
        body = raw if route == "/predict" else b'{"instances": [' + raw + b"]}"
        response = post_raw(shared_client, route, body)
        assert response.status_code == 400, (route, response.text)
        assert "malformed JSON" in response.text


def test_a_lone_surrogate_as_the_v2_id_is_a_400(shared_client: InProcessApp) -> None:
    raw = (
        b'{"id": "\\ud800", "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", '
        b'"data": [0.5]}, {"name": "count", "shape": [1], "datatype": "INT64", "data": [3]}, '
        b'{"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]}]}'
    )
    response = post_raw(shared_client, V2, raw)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": response.json()["error"]}
    assert "surrogate" in response.json()["error"]


def test_nan_and_infinity_in_strings_stay_strings() -> None:
    assert parse_json(b'{"a": "NaN", "b": [NaN, "Infinity"], "c": -Infinity}') == {
        "a": "NaN",
        "b": [pytest.approx(math.nan, nan_ok=True), "Infinity"],
        "c": -math.inf,
    }


def test_nan_does_not_let_malformed_json_through() -> None:
    with pytest.raises(MalformedRequestError, match="malformed JSON: trailing comma"):
        parse_json(b'{"x": NaN,}')


@pytest.mark.parametrize(
    ("raw", "got"), [(b"null", "got null"), (b"3", "got number"), (b'"a"', "got string")]
)
def test_a_top_level_scalar_is_named_as_json_names_it(
    shared_client: InProcessApp, raw: bytes, got: str
) -> None:
    for route in ("/predict", V1, V2):
        response = post_raw(shared_client, route, raw)
        assert response.status_code == 400, route
        assert got in response.text, (route, response.text)
        assert "NoneType" not in response.text


# -- values the model's dtype cannot hold --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("x", 3.5e38, "32-bit float"),
        ("x", -1e300, "32-bit float"),
        ("count", 2**63, "64-bit"),
        ("count", 18446744073709551615, "64-bit"),
        ("count", -(2**64), "64-bit"),
        ("count", -(2**63) - 1, "64-bit"),  # parsed as the float -2**63, which would fit
        ("count", 1e17, "64-bit"),
        ("count", 2.5, "must be an integer, got 2.5"),
        ("count", 2.5e-42, "must be an integer"),
    ],
)
def test_a_value_the_dtype_cannot_hold_is_a_422_naming_field_and_range(
    shared_client: InProcessApp, field: str, value: float, words: str
) -> None:
    for route, body in (
        ("/predict", {**ROW, field: value}),
        (V1, {"instances": [{**ROW, field: value}]}),
    ):
        response = shared_client.post(route, json=body, headers=key())
        assert response.status_code == 422, (route, response.text)
        assert words in response.text
        assert field in response.text


def test_an_integral_float_passes_for_an_integer_field(shared_client: InProcessApp) -> None:
    response = shared_client.post("/predict", json={**ROW, "count": 3.0}, headers=key())
    assert response.status_code == 200, response.text


# -- error details are capped ---------------------------------------------------------------------


def test_a_thousand_empty_rows_get_a_small_422(shared_client: InProcessApp) -> None:
    response = shared_client.post("/predict", json={"instances": [{}] * 1000}, headers=key())
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["details"]) == MAX_DETAILS
    assert error["omitted"] == 3000 - MAX_DETAILS
    assert "3000 errors" in error["message"]
    assert len(response.content) < 4_000

    response = shared_client.post(V1, json={"instances": [{}] * 1000}, headers=key())
    assert response.status_code == 422
    assert len(response.content) < 2_000


def test_a_huge_unknown_field_name_is_cut(shared_client: InProcessApp) -> None:
    response = shared_client.post("/predict", json={**ROW, "k" * 100_000: 1}, headers=key())
    assert response.status_code == 422
    assert len(response.content) < 1_000


# -- unexpected errors ----------------------------------------------------------------------------


class FailingModel:
    """The toy model, raising on rows whose ``x`` is ``POISON``."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _check(self, frame: pd.DataFrame) -> None:
        if (frame["x"] == POISON).any():
            raise RuntimeError("the model fell over")

    def predict(self, frame: pd.DataFrame) -> Any:
        self._check(frame)
        return self._model.predict(frame)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        self._check(frame)
        return self._model.predict_proba(frame)


@pytest.fixture
def failing(client_factory: ClientFactory, toy_bundle: Bundle) -> InProcessApp:
    # Served by scikit-learn (no compiled model), so that the failing wrapper is what runs.
    metadata = toy_bundle.metadata.model_copy(update={"compiled": None})
    bundle = dataclasses.replace(
        toy_bundle, model=FailingModel(toy_bundle.model), metadata=metadata
    )
    return client_factory(FakeSource(bundle))


def test_an_unexpected_error_is_a_short_500_with_the_request_id(
    failing: InProcessApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="k8s_mlserve.server")
    poisoned = {**ROW, "x": POISON}
    answers = [
        failing.post("/predict", json=poisoned, headers={**key(), "X-Request-ID": f"req-{i}"})
        for i in range(3)
    ]
    for i, response in enumerate(answers):
        assert response.status_code == 500
        assert response.headers["x-request-id"] == f"req-{i}"
        assert "connection" not in response.headers
        assert response.json() == {
            "error": {
                "status": 500,
                "message": "internal error; see the server log",
                "request_id": f"req-{i}",
            }
        }
    records = [r for r in caplog.records if "unhandled RuntimeError" in r.getMessage()]
    assert len(records) == 3  # one line per error ...
    assert [r.exc_info is not None for r in records] == [True, False, False]  # ... one traceback
    assert "req-1" in records[1].getMessage()

    response = failing.post(V2.replace("/infer", "") + "/infer", json={}, headers=key())
    assert response.status_code == 400  # the neighbours still answer
    response = failing.post(V1, json={"instances": [poisoned]}, headers=key())
    assert response.status_code == 500
    assert response.json()["error"].startswith("internal error")
    assert response.headers["x-request-id"] in response.json()["error"]
    assert failing.post("/predict", json=ROW, headers=key()).status_code == 200


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("abc-123", True), ("x" * 64, True), ("x" * 65, False), ("a b", False), ("é", False)],
)
def test_every_response_has_a_request_id(
    shared_client: InProcessApp, sent: str, echoed: bool
) -> None:
    for response in (
        shared_client.get("/health", headers={"X-Request-ID": sent.encode()}),
        shared_client.get("/nowhere", headers={"X-Request-ID": sent.encode()}),
        shared_client.post("/predict", json={}, headers={**key(), "X-Request-ID": sent.encode()}),
    ):
        request_id = response.headers["x-request-id"]
        assert (request_id == sent) is echoed
        assert 1 <= len(request_id) <= 64
    fresh = [shared_client.get("/health").headers["x-request-id"] for _ in range(3)]
    assert len(set(fresh)) == 3  # each request its own id
    assert all(re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", i) for i in fresh)


def test_nan_constants_are_bounded() -> None:
    within = b"[" + b"NaN, " * MAX_NON_FINITE + b"1]"
    assert len(parse_json(within)) == MAX_NON_FINITE + 1
    with pytest.raises(MalformedRequestError, match=f"more than {MAX_NON_FINITE} NaN"):
        parse_json(b"[" + b"NaN, " * (MAX_NON_FINITE + 1) + b"1]")


def test_an_unterminated_string_after_nan_is_malformed_fast() -> None:
    with pytest.raises(MalformedRequestError, match="malformed JSON"):
        parse_json(b'[NaN, "' + b'\\"' * 300_000)
