"""KServe V1 over real HTTP, against ``/predict``; protocol routes in the metrics."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.testing import ServerProcess

from .conftest import (
    DIABETES_ROWS,
    MONITORING_TOKEN,
    as_object,
    feature_tensors,
    infer,
)

pytestmark = pytest.mark.integration


# -- V1 --------------------------------------------------------------------------------------


def test_v1_instances_as_objects_or_lists(
    diabetes: ServerProcess, expected: list[dict[str, Any]]
) -> None:
    instances: list[Any] = [as_object(r) if i % 2 else r for i, r in enumerate(DIABETES_ROWS)]
    response = diabetes.client.post(
        "/v1/models/diabetes-model:predict",
        json={"instances": instances},
        headers=diabetes.headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [e["label"] for e in expected]}


def test_v1_model_listing_and_readiness(diabetes: ServerProcess) -> None:
    assert diabetes.client.get("/v1/models").json() == {"models": ["diabetes-model"]}
    ready = diabetes.client.get("/v1/models/diabetes-model")
    assert (ready.status_code, ready.json()) == (200, {"name": "diabetes-model", "ready": True})
    assert diabetes.client.get("/v1/models/other").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"instances": [DIABETES_ROWS[0][:7]]}, 400, "has 7 values; expected 8"),
        ({"instances": [[*DIABETES_ROWS[0][:7], "fifty"]]}, 422, "Age: must be an integer"),
        ({"instances": [DIABETES_ROWS[0], {"Age": 3}]}, 422, "row 1: Pregnancies"),
        ({"instances": [42]}, 400, "instance 0 must be an object"),
        ({"instances": []}, 422, "no rows"),
        ({"rows": []}, 400, "instances"),
    ],
)
def test_v1_bad_requests_say_what_is_wrong(
    diabetes: ServerProcess, body: Any, status: int, message: str
) -> None:
    response = diabetes.client.post(
        "/v1/models/diabetes-model:predict", json=body, headers=diabetes.headers()
    )
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_v1_unknown_model_and_missing_key(diabetes: ServerProcess) -> None:
    body = {"instances": DIABETES_ROWS}
    response = diabetes.client.post(
        "/v1/models/other:predict", json=body, headers=diabetes.headers()
    )
    assert response.status_code == 404
    assert "other" in response.json()["error"]
    response = diabetes.client.post("/v1/models/diabetes-model:predict", json=body)
    assert response.status_code == 401


def test_protocol_routes_are_counted_by_template(diabetes: ServerProcess) -> None:
    infer(diabetes, {"inputs": feature_tensors(DIABETES_ROWS)})
    infer(diabetes, {"inputs": feature_tensors(DIABETES_ROWS)}, path="/v2/models/x/infer")
    metrics = diabetes.client.get(
        "/metrics", headers={"Authorization": f"Bearer {MONITORING_TOKEN}"}
    ).text
    assert 'route="/v2/models/{name}/infer",status="200"' in metrics
    assert 'route="/v2/models/{name}/infer",status="404"' in metrics
    assert "/v2/models/x/infer" not in metrics
