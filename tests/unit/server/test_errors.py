"""One error map for every protocol: each failure has one status on /predict, V1 and V2."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.errors import (
    ConfigurationError,
    MalformedRequestError,
    ModelNotLoadedError,
    NotFoundError,
    RequestTimeoutError,
    RequestTooLargeError,
    UnauthorizedError,
    ValidationError,
)
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server.errors import STATUSES, status_for
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROW, FakeSource
from .conftest import ClientFactory, key

V1 = f"/v1/models/{MODEL_NAME}:predict"
V2 = f"/v2/models/{MODEL_NAME}/infer"


def v2_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def tensor(name: str, datatype: str) -> dict[str, Any]:
        return {
            "name": name,
            "shape": [len(rows)],
            "datatype": datatype,
            "data": [r.get(name) for r in rows],
        }

    return {"inputs": [tensor("x", "FP64"), tensor("count", "INT64"), tensor("colour", "BYTES")]}


# Each failure, as each protocol sends it: (route, headers, body or raw bytes).
def failures(too_many: int) -> dict[str, dict[str, tuple[str, dict[str, str], Any]]]:
    many = [ROW] * too_many
    bad = [{**ROW, "colour": "purple"}]
    return {
        "malformed": {
            "predict": ("/predict", key(), b"{not json"),
            "v1": (V1, key(), b"{not json"),
            "v2": (V2, key(), b"{not json"),
        },
        "wrong shape": {
            "predict": ("/predict", key(), b"[1, 2]"),
            "v1": (V1, key(), {"rows": [ROW]}),
            "v2": (V2, key(), {"inputs": 3}),
        },
        "no key": {
            "predict": ("/predict", {}, ROW),
            "v1": (V1, {}, {"instances": [ROW]}),
            "v2": (V2, {}, v2_body([ROW])),
        },
        "too many rows": {
            "predict": ("/predict", key(), {"instances": many}),
            "v1": (V1, key(), {"instances": many}),
            "v2": (V2, key(), v2_body(many)),
        },
        "no rows": {
            "predict": ("/predict", key(), {"instances": []}),
            "v1": (V1, key(), {"instances": []}),
            "v2": (V2, key(), v2_body([])),
        },
        "schema violation": {
            "predict": ("/predict", key(), {"instances": bad}),
            "v1": (V1, key(), {"instances": bad}),
            "v2": (V2, key(), v2_body(bad)),
        },
        "unknown model": {
            "v1": ("/v1/models/other:predict", key(), {"instances": [ROW]}),
            "v2": ("/v2/models/other/infer", key(), v2_body([ROW])),
        },
    }


EXPECTED = {
    "malformed": 400,
    "wrong shape": 400,
    "no key": 401,
    "unknown model": 404,
    "too many rows": 413,
    "no rows": 422,
    "schema violation": 422,
}


def _send(client: InProcessApp, route: str, headers: dict[str, str], body: Any) -> Any:
    if isinstance(body, bytes):
        headers = {**headers, "Content-Type": "application/json"}
        return client.post(route, content=body, headers=headers)
    return client.post(route, json=body, headers=headers)


@pytest.mark.parametrize("failure", sorted(EXPECTED))
def test_each_failure_has_one_status_on_every_protocol(
    client_factory: ClientFactory, toy_bundle: Bundle, failure: str
) -> None:
    client = client_factory(FakeSource(toy_bundle), server={"max_instances": 5})
    for protocol, (route, headers, body) in failures(too_many=6)[failure].items():
        response = _send(client, route, headers, body)
        assert response.status_code == EXPECTED[failure], (protocol, response.text)
        error = response.json()["error"]
        if protocol == "predict":
            assert error["status"] == EXPECTED[failure]
            assert error["message"]
        else:
            assert isinstance(error, str)
            assert error
        if failure == "no key":
            assert response.headers["www-authenticate"] == "Bearer"


def test_a_schema_violation_names_the_field_on_every_protocol(
    client: InProcessApp,
) -> None:
    bad = failures(too_many=2)["schema violation"]
    predict = _send(client, *bad["predict"]).json()["error"]
    assert predict["details"] == [{"field": "colour", "message": predict["details"][0]["message"]}]
    assert "purple" in predict["details"][0]["message"]
    for protocol in ("v1", "v2"):
        assert "colour" in _send(client, *bad[protocol]).json()["error"]


def test_no_model_is_503_on_every_protocol(client_factory: ClientFactory) -> None:
    source = FakeSource(None)
    source.error = ConfigurationError("the volume is not mounted yet")
    client = client_factory(source, wait=False)
    for route, body in (
        ("/predict", ROW),
        (V1, {"instances": [ROW]}),
        (V2, v2_body([ROW])),
    ):
        response = client.post(route, json=body, headers=key())
        assert response.status_code == 503, route
        assert "no model loaded" in response.text


def test_unknown_routes_and_methods_keep_the_body_shape(client: InProcessApp) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
    response = client.get("/predict")
    assert response.status_code == 405
    assert response.json()["error"]["status"] == 405


def test_the_table_gives_one_status_per_error_class() -> None:
    assert dict(STATUSES) == {
        MalformedRequestError: 400,
        UnauthorizedError: 401,
        NotFoundError: 404,
        RequestTimeoutError: 408,
        RequestTooLargeError: 413,
        ValidationError: 422,
        ModelNotLoadedError: 503,
    }
    assert status_for(ValidationError([])) == 422
    assert status_for(ConfigurationError("x")) == 500
    assert status_for(RuntimeError("x")) == 500
