"""The Open Inference Protocol (V2) over real HTTP, against ``/predict``."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.testing import ServerProcess

from .conftest import (
    CHURN_ROW,
    DIABETES,
    DIABETES_FEATURES,
    DIABETES_ROWS,
    assert_v2_matches,
    feature_tensors,
    infer,
    outputs_by_name,
)

pytestmark = pytest.mark.integration


# -- V2: health and metadata -----------------------------------------------------------------


def test_v2_server_metadata_and_health_need_no_key(diabetes: ServerProcess) -> None:
    client = diabetes.client
    body = client.get("/v2").json()
    assert body["name"] == "k8s-mlserve"
    assert isinstance(body["version"], str)
    assert body["extensions"] == ["binary_tensor_data"]
    live = client.get("/v2/health/live")
    assert (live.status_code, live.json()) == (200, {"live": True})
    ready = client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    model = client.get(DIABETES + "/ready")
    assert (model.status_code, model.json()) == (200, {"name": "diabetes-model", "ready": True})
    assert client.get(DIABETES + "/versions/v1/ready").status_code == 200


def test_v2_model_metadata_describes_the_schema(
    diabetes: ServerProcess, churn: ServerProcess
) -> None:
    body = diabetes.client.get(DIABETES).json()
    assert body["name"] == "diabetes-model"
    assert body["versions"] == ["v1"]
    assert body["platform"] == "sklearn"
    assert [i["name"] for i in body["inputs"]] == DIABETES_FEATURES
    assert {i["name"]: i["datatype"] for i in body["inputs"]}["BMI"] == "FP64"
    assert {i["name"]: i["datatype"] for i in body["inputs"]}["Age"] == "INT64"
    assert body["outputs"] == [
        {"name": "label", "datatype": "INT64", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
    ]
    assert diabetes.client.get(DIABETES + "/versions/v1").json() == body

    churn_inputs = {
        i["name"]: i["datatype"]
        for i in churn.client.get("/v2/models/churn-model").json()["inputs"]
    }
    assert churn_inputs["Contract"] == "BYTES"
    assert churn_inputs["MonthlyCharges"] == "FP64"


def test_v2_unknown_model_or_version_is_404(diabetes: ServerProcess) -> None:
    client = diabetes.client
    for path in (
        "/v2/models/other",
        "/v2/models/other/ready",
        DIABETES + "/versions/v9",
        DIABETES + "/versions/v9/ready",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert isinstance(response.json()["error"], str)
    response = infer(
        diabetes, {"inputs": feature_tensors(DIABETES_ROWS)}, path="/v2/models/other/infer"
    )
    assert response.status_code == 404
    assert "diabetes-model" in response.json()["error"]
    response = infer(
        diabetes, {"inputs": feature_tensors(DIABETES_ROWS)}, path=DIABETES + "/versions/v9/infer"
    )
    assert response.status_code == 404
    assert "v9" in response.json()["error"]


# -- V2: inference ---------------------------------------------------------------------------


def test_v2_feature_tensors_answer_like_predict(
    diabetes: ServerProcess, expected: list[dict[str, Any]]
) -> None:
    response = infer(diabetes, {"id": "req-42", "inputs": feature_tensors(DIABETES_ROWS)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "diabetes-model"
    assert body["model_version"] == "v1"
    assert body["id"] == "req-42"
    assert_v2_matches(body, expected)

    versioned = infer(
        diabetes, {"inputs": feature_tensors(DIABETES_ROWS)}, path=DIABETES + "/versions/v1/infer"
    )
    assert versioned.status_code == 200
    assert_v2_matches(versioned.json(), expected)
    assert versioned.json()["id"]  # generated when the request has none


def test_v2_row_of_features_tensor_answers_like_predict(
    diabetes: ServerProcess, expected: list[dict[str, Any]]
) -> None:
    count = len(DIABETES_ROWS)
    flat = [v for row in DIABETES_ROWS for v in row]
    for data in (DIABETES_ROWS, flat):
        tensor = {"name": "input-0", "shape": [count, 8], "datatype": "FP32", "data": data}
        response = infer(diabetes, {"inputs": [tensor]})
        assert response.status_code == 200, response.text
        assert_v2_matches(response.json(), expected)


def test_v2_outputs_can_be_chosen(diabetes: ServerProcess, expected: list[dict[str, Any]]) -> None:
    body = {
        "inputs": feature_tensors(DIABETES_ROWS[:1]),
        "outputs": [{"name": "risk_level"}, {"name": "label"}],
    }
    response = infer(diabetes, body)
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    assert [o["name"] for o in outputs] == ["risk_level", "label"]
    assert outputs[1]["data"] == [expected[0]["label"]]

    response = infer(diabetes, {**body, "outputs": [{"name": "logits"}]})
    assert response.status_code == 400
    assert "logits" in response.json()["error"]


def test_v2_categorical_features_take_bytes_tensors(churn: ServerProcess) -> None:
    reference = churn.client.post("/predict", json=CHURN_ROW).json()
    tensors = []
    for name, value in CHURN_ROW.items():
        datatype = "BYTES" if isinstance(value, str) else "FP64"
        tensors.append({"name": name, "shape": [1], "datatype": datatype, "data": [value]})
    response = infer(churn, {"inputs": tensors}, path="/v2/models/churn-model/infer")
    assert response.status_code == 200, response.text
    outputs = outputs_by_name(response.json())
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["label"]["data"] == [reference["label"]]
    assert outputs["will_churn"]["data"] == [reference["will_churn"]]

    # A numeric datatype for a categorical feature is refused...
    wrong = [
        {**t, "datatype": "FP64", "data": [1.0]} if t["name"] == "Contract" else t for t in tensors
    ]
    response = infer(churn, {"inputs": wrong}, path="/v2/models/churn-model/infer")
    assert response.status_code == 400
    assert "Contract" in response.json()["error"]
    assert "BYTES" in response.json()["error"]
    # ...and so is a level never seen in training, naming the feature.
    unseen = [{**t, "data": ["Weekly"]} if t["name"] == "Contract" else t for t in tensors]
    response = infer(churn, {"inputs": unseen}, path="/v2/models/churn-model/infer")
    assert response.status_code == 422
    assert "Contract" in response.json()["error"]
    assert "Weekly" in response.json()["error"]
    # A row-of-features tensor cannot carry categories.
    row = {"name": "x", "shape": [1, len(CHURN_ROW)], "datatype": "FP64", "data": [0.0] * 19}
    response = infer(churn, {"inputs": [row]}, path="/v2/models/churn-model/infer")
    assert response.status_code == 400
    assert "categorical" in response.json()["error"]


def test_v2_string_labels_are_bytes(iris: ServerProcess) -> None:
    tensor = {"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2] * 2}
    response = infer(iris, {"inputs": [tensor]}, path="/v2/models/iris-model/infer")
    assert response.status_code == 200, response.text
    outputs = outputs_by_name(response.json())
    assert outputs["label"] == {
        "name": "label",
        "shape": [2],
        "datatype": "BYTES",
        "data": ["setosa", "setosa"],
    }
    assert outputs["probabilities"]["shape"] == [2, 3]
    assert iris.client.get("/v2/models/iris-model").json()["outputs"][0]["datatype"] == "BYTES"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        # wrong shapes
        (lambda t: [{**t[0], "shape": [5]}, *t[1:]], "shape [5] (5 elements) but 4 data"),
        (lambda t: [{**t[0], "shape": [2, 2]}, *t[1:]], "expected [N] or [N, 1]"),
        (lambda t: [{**t[0], "shape": [3], "data": [1, 2, 3]}, *t[1:]], "disagree"),
        (lambda t: [{**t[0], "shape": [-4]}, *t[1:]], "non-negative"),
        # wrong datatypes
        (lambda t: [{**t[0], "datatype": "FLOAT64"}, *t[1:]], "unknown datatype 'FLOAT64'"),
        (lambda t: [{**t[0], "datatype": "BYTES", "data": ["6"] * 4}, *t[1:]], "numeric feature"),
        (lambda t: [{**t[0], "datatype": "BOOL", "data": [True] * 4}, *t[1:]], "numeric feature"),
        (lambda t: [{**t[0], "data": [6, 1, 8.5, 0]}, *t[1:]], "INT64 but holds 8.5"),
        (lambda t: [{**t[0], "datatype": "UINT8", "data": [6, 1, -8, 0]}, *t[1:]], "holds -8"),
        (lambda t: [{**t[0], "data": [6, 1, "8", 0]}, *t[1:]], "holds '8'"),
        # wrong or missing tensors
        (lambda t: t[1:], "missing input tensors ['Pregnancies']"),
        (lambda t: [*t, {**t[0], "name": "Height"}], "unknown input tensors ['Height']"),
        (lambda t: [*t, t[0]], "given twice"),
        (lambda t: [], "'inputs' is empty"),
        (lambda t: [{"name": "Age", "shape": [1]}], "unknown datatype"),
        (lambda t: ["Age"], "input 0 must be an object"),
    ],
)
def test_v2_bad_tensors_are_400_saying_what_is_wrong(
    diabetes: ServerProcess, mutate: Any, message: str
) -> None:
    response = infer(diabetes, {"inputs": mutate(feature_tensors(DIABETES_ROWS))})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert isinstance(error, str)
    assert message in error


def test_v2_row_tensor_with_the_wrong_width_is_400(diabetes: ServerProcess) -> None:
    tensor = {"name": "x", "shape": [2, 7], "datatype": "FP64", "data": [1.0] * 14}
    response = infer(diabetes, {"inputs": [tensor]})
    assert response.status_code == 400
    assert "[N, 8]" in response.json()["error"]
    tensor = {"name": "x", "shape": [2, 8], "datatype": "FP64", "data": [1.0] * 15}
    response = infer(diabetes, {"inputs": [tensor]})
    assert response.status_code == 400
    assert "16 elements" in response.json()["error"]


def test_v2_schema_violations_are_422_naming_row_and_field(diabetes: ServerProcess) -> None:
    tensors = feature_tensors(DIABETES_ROWS)
    glucose = DIABETES_FEATURES.index("Glucose")
    tensors[glucose] = {**tensors[glucose], "datatype": "FP64", "data": [[148], [85], [None], [1]]}
    response = infer(diabetes, {"inputs": tensors})
    assert response.status_code == 422
    assert "row 2: Glucose" in response.json()["error"]


def test_v2_requests_need_a_key_and_a_body(diabetes: ServerProcess) -> None:
    response = infer(diabetes, {"inputs": feature_tensors(DIABETES_ROWS)}, key=False)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["error"], str)
    headers = {**diabetes.headers(), "Content-Type": "application/json"}
    for raw in (b"{not json", b"[1, 2]", b'{"inputs": 3}'):
        response = diabetes.client.post(DIABETES + "/infer", content=raw, headers=headers)
        assert response.status_code == 400, raw
        assert isinstance(response.json()["error"], str)
