"""The Open Inference Protocol (V2): server and model metadata, readiness, versions and infer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from k8s_mlserve.__version__ import __version__
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROWS
from .conftest import key

MODEL = f"/v2/models/{MODEL_NAME}"
VERSIONED = f"{MODEL}/versions/v1"
CLASSES = ["no", "yes"]


def feature_tensors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "shape": [len(rows)], "datatype": datatype, "data": [r[name] for r in rows]}
        for name, datatype in (("x", "FP64"), ("count", "INT64"), ("colour", "BYTES"))
    ]


def infer(client: InProcessApp, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(route, json=body, headers=key())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def by_name(outputs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {tensor["name"]: tensor for tensor in outputs}


def test_server_metadata_liveness_and_readiness(shared_client: InProcessApp) -> None:
    assert shared_client.get("/v2").json() == {
        "name": "k8s-mlserve",
        "version": __version__,
        "extensions": ["binary_tensor_data"],
    }
    live = shared_client.get("/v2/health/live")
    assert (live.status_code, live.json()) == (200, {"live": True})
    ready = shared_client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})


@pytest.mark.parametrize("route", [MODEL, VERSIONED])
def test_model_metadata_describes_one_input_per_feature_and_the_outputs(
    shared_client: InProcessApp, route: str
) -> None:
    response = shared_client.get(route)
    assert response.status_code == 200
    assert response.json() == {
        "name": MODEL_NAME,
        "versions": ["v1"],
        "platform": "sklearn",
        "inputs": [
            {"name": "x", "datatype": "FP64", "shape": [-1]},
            {"name": "count", "datatype": "INT64", "shape": [-1]},
            {"name": "colour", "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
        ],
    }


@pytest.mark.parametrize("route", [f"{MODEL}/ready", f"{VERSIONED}/ready"])
def test_the_model_is_ready(shared_client: InProcessApp, route: str) -> None:
    response = shared_client.get(route)
    assert (response.status_code, response.json()) == (200, {"name": MODEL_NAME, "ready": True})


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("GET", "/ready"), ("POST", "/infer")])
def test_another_version_is_404_naming_the_served_one(
    shared_client: InProcessApp, method: str, suffix: str
) -> None:
    route = f"{MODEL}/versions/v2{suffix}"
    body = {"inputs": feature_tensors(ROWS[:1])}
    response = shared_client.request(method, route, json=body, headers=key())
    assert response.status_code == 404
    assert response.json() == {
        "error": f"version 'v2' of model '{MODEL_NAME}' is not served; the served version is 'v1'"
    }


@pytest.mark.parametrize("route", [f"{MODEL}/infer", f"{VERSIONED}/infer"])
def test_infer_answers_what_predict_answers_for_the_same_rows(
    shared_client: InProcessApp, route: str
) -> None:
    answer = infer(shared_client, route, {"inputs": feature_tensors(ROWS)})
    expected = shared_client.post("/predict", json={"instances": ROWS}, headers=key()).json()
    results = expected["predictions"]
    assert answer["model_name"] == MODEL_NAME
    assert answer["model_version"] == "v1"
    outputs = by_name(answer["outputs"])
    assert list(outputs) == ["label", "probabilities", "is_yes", "probability", "risk"]
    n = len(ROWS)
    assert outputs["label"] == {
        "name": "label",
        "shape": [n],
        "datatype": "BYTES",
        "data": [r["label"] for r in results],
    }
    assert set(outputs["label"]["data"]) == {"yes", "no"}
    assert outputs["probabilities"] == {
        "name": "probabilities",
        "shape": [n, 2],
        "datatype": "FP64",
        "parameters": {"classes": '["no","yes"]'},
        "data": [r["probabilities"][c] for r in results for c in CLASSES],
    }
    for field, datatype in (("is_yes", "BOOL"), ("probability", "FP64"), ("risk", "BYTES")):
        assert outputs[field] == {
            "name": field,
            "shape": [n],
            "datatype": datatype,
            "data": [r[field] for r in results],
        }


def test_infer_takes_feature_tensors_of_shape_n_by_1(shared_client: InProcessApp) -> None:
    flat = infer(shared_client, f"{MODEL}/infer", {"inputs": feature_tensors(ROWS)})
    columns = feature_tensors(ROWS)
    for column in columns:
        column["shape"] = [len(ROWS), 1]
        column["data"] = [[value] for value in column["data"]]
    nested = infer(shared_client, f"{MODEL}/infer", {"inputs": columns})
    assert nested["outputs"] == flat["outputs"]


def test_infer_answers_only_the_outputs_asked_for(shared_client: InProcessApp) -> None:
    body = {"inputs": feature_tensors(ROWS), "outputs": [{"name": "risk"}, {"name": "label"}]}
    answer = infer(shared_client, f"{MODEL}/infer", body)
    assert [tensor["name"] for tensor in answer["outputs"]] == ["risk", "label"]


def test_an_unknown_output_is_400_naming_the_available_ones(shared_client: InProcessApp) -> None:
    body = {"inputs": feature_tensors(ROWS), "outputs": [{"name": "score"}]}
    response = shared_client.post(f"{MODEL}/infer", json=body, headers=key())
    assert response.status_code == 400
    assert response.json() == {
        "error": "unknown outputs ['score']; available: label, probabilities, is_yes, "
        "probability, risk"
    }


def test_the_request_id_is_echoed(shared_client: InProcessApp) -> None:
    body = {"id": "request-42", "inputs": feature_tensors(ROWS)}
    assert infer(shared_client, f"{MODEL}/infer", body)["id"] == "request-42"


def test_without_an_id_each_answer_gets_its_own(shared_client: InProcessApp) -> None:
    ids = {
        infer(shared_client, f"{MODEL}/infer", {"inputs": feature_tensors(ROWS)})["id"]
        for _ in range(2)
    }
    assert len(ids) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_a_row_tensor_is_refused_for_a_model_with_categorical_features(
    shared_client: InProcessApp,
) -> None:
    body = {"inputs": [{"name": "rows", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
    response = shared_client.post(f"{MODEL}/infer", json=body, headers=key())
    assert response.status_code == 400
    assert "this model has categorical features" in response.json()["error"]


def test_an_unseen_level_is_a_422_naming_the_field(shared_client: InProcessApp) -> None:
    body = {"inputs": feature_tensors([{**ROWS[0], "colour": "purple"}])}
    response = shared_client.post(f"{MODEL}/infer", json=body, headers=key())
    assert response.status_code == 422
    assert response.json()["error"].startswith(
        "input does not match the model's schema: colour: value 'purple' was never seen"
    )
