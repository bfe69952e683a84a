"""KServe V1: the model list, model readiness and predictions answered as labels."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROW, ROWS
from .conftest import key

PREDICT = f"/v1/models/{MODEL_NAME}:predict"


def predict_labels(client: InProcessApp, rows: list[dict[str, Any]]) -> list[Any]:
    response = client.post("/predict", json={"instances": rows}, headers=key())
    assert response.status_code == 200, response.text
    return [result["label"] for result in response.json()["predictions"]]


def test_the_served_model_is_listed(shared_client: InProcessApp) -> None:
    response = shared_client.get("/v1/models")
    assert response.status_code == 200
    assert response.json() == {"models": [MODEL_NAME]}


def test_the_served_model_is_ready(shared_client: InProcessApp) -> None:
    response = shared_client.get(f"/v1/models/{MODEL_NAME}")
    assert response.status_code == 200
    assert response.json() == {"name": MODEL_NAME, "ready": True}


@pytest.mark.parametrize(
    "route", ["/v1/models/other", "/v1/models/other:predict"], ids=["model", "predict"]
)
def test_an_unknown_model_is_404_naming_the_served_one(
    shared_client: InProcessApp, route: str
) -> None:
    if route.endswith(":predict"):
        response = shared_client.post(route, json={"instances": [ROW]}, headers=key())
    else:
        response = shared_client.get(route)
    assert response.status_code == 404
    assert response.json() == {
        "error": f"model 'other' is not served here; this server serves '{MODEL_NAME}'"
    }


def test_objects_are_answered_with_the_labels_of_predict(shared_client: InProcessApp) -> None:
    response = shared_client.post(PREDICT, json={"instances": ROWS}, headers=key())
    assert response.status_code == 200
    body = response.json()
    assert body == {"predictions": predict_labels(shared_client, ROWS)}
    assert set(body["predictions"]) == {"yes", "no"}


def test_lists_in_schema_order_are_answered_like_objects(shared_client: InProcessApp) -> None:
    lists = [[row["x"], row["count"], row["colour"]] for row in ROWS]
    mixed = [lists[0], ROWS[1], lists[2], ROWS[3]]
    for instances in (lists, mixed):
        response = shared_client.post(PREDICT, json={"instances": instances}, headers=key())
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": predict_labels(shared_client, ROWS)}


def test_a_list_of_the_wrong_length_names_the_schema_order(shared_client: InProcessApp) -> None:
    response = shared_client.post(PREDICT, json={"instances": [ROW, [0.5, 3]]}, headers=key())
    assert response.status_code == 400
    assert response.json() == {
        "error": "instance 1 has 2 values; expected 3 in schema order: x, count, colour"
    }


def test_an_instance_that_is_neither_object_nor_list_is_refused(
    shared_client: InProcessApp,
) -> None:
    response = shared_client.post(PREDICT, json={"instances": [ROW, 0.5]}, headers=key())
    assert response.status_code == 400
    assert response.json() == {
        "error": "instance 1 must be an object of features or a list in schema order"
    }


def test_a_list_with_a_bad_value_is_a_422_naming_the_field(shared_client: InProcessApp) -> None:
    response = shared_client.post(PREDICT, json={"instances": [[0.5, 3, "purple"]]}, headers=key())
    assert response.status_code == 422
    message = response.json()["error"]
    assert message.startswith("input does not match the model's schema: colour: ")
    assert "'purple'" in message
