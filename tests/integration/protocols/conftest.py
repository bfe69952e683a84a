"""Servers of the three examples behind the V1 and V2 protocols, and helpers to call them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve.testing import ServerProcess
from k8s_mlserve.training.examples import churn as churn_example
from k8s_mlserve.training.examples import diabetes as diabetes_example

API_KEY = "protocols-key-0123456789"
MONITORING_TOKEN = "protocols-monitoring-token"

DIABETES = "/v2/models/diabetes-model"
DIABETES_FEATURES = diabetes_example.FEATURES
DIABETES_ROWS: list[list[int | float]] = [
    [6, 148, 72, 35, 0, 33.6, 0.627, 50],
    [1, 85, 66, 29, 0, 26.6, 0.351, 31],
    [8, 183, 64, 0, 0, 23.3, 0.672, 32],
    [0, 137, 40, 35, 168, 43.1, 2.288, 33],
]
INTEGER_FEATURES = {"Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "Age"}
CHURN_ROW: dict[str, Any] = churn_example.EXAMPLE_ROW


def as_object(row: list[int | float]) -> dict[str, int | float]:
    return dict(zip(DIABETES_FEATURES, row, strict=True))


@pytest.fixture(scope="module")
def diabetes(
    registries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The diabetes model behind an API key and a monitoring token."""
    secrets = tmp_path_factory.mktemp("protocol-secrets")
    (secrets / "auth__api_keys").write_text(API_KEY + "\n")
    (secrets / "auth__monitoring_token").write_text(MONITORING_TOKEN + "\n")
    server = ServerProcess(
        {"MLSERVE_MODEL__PATH": str(registries["diabetes"])},
        secrets_dir=secrets,
        api_key=API_KEY,
    )
    with server:
        yield server


@pytest.fixture(scope="module")
def churn(registries: dict[str, Path]) -> Iterator[ServerProcess]:
    with ServerProcess({"MLSERVE_MODEL__PATH": str(registries["churn"])}) as server:
        yield server


@pytest.fixture(scope="module")
def iris(registries: dict[str, Path]) -> Iterator[ServerProcess]:
    with ServerProcess({"MLSERVE_MODEL__PATH": str(registries["iris"])}) as server:
        yield server


@pytest.fixture(scope="module")
def expected(diabetes: ServerProcess) -> list[dict[str, Any]]:
    """What ``/predict`` answers for DIABETES_ROWS: the reference for every protocol."""
    response = diabetes.client.post(
        "/predict",
        json={"instances": [as_object(r) for r in DIABETES_ROWS]},
        headers=diabetes.headers(),
    )
    assert response.status_code == 200, response.text
    predictions: list[dict[str, Any]] = response.json()["predictions"]
    return predictions


def infer(
    server: ServerProcess, body: Any, *, path: str = DIABETES + "/infer", key: bool = True
) -> httpx.Response:
    return server.client.post(path, json=body, headers=server.headers() if key else {})


def feature_tensors(rows: list[list[int | float]]) -> list[dict[str, Any]]:
    tensors = []
    for j, name in enumerate(DIABETES_FEATURES):
        column = [row[j] for row in rows]
        data: list[Any]
        # Alternate the two accepted shapes: [N] and [N, 1] (with nested data).
        if j % 2:
            shape, data = [len(rows), 1], [[v] for v in column]
        else:
            shape, data = [len(rows)], column
        datatype = "INT64" if name in INTEGER_FEATURES else "FP64"
        tensors.append({"name": name, "shape": shape, "datatype": datatype, "data": data})
    return tensors


def outputs_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in body["outputs"]}


def assert_v2_matches(body: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    outputs = outputs_by_name(body)
    count = len(expected)
    assert outputs["label"] == {
        "name": "label",
        "shape": [count],
        "datatype": "INT64",
        "data": [e["label"] for e in expected],
    }
    probabilities = outputs["probabilities"]
    assert probabilities["shape"] == [count, 2]
    assert probabilities["datatype"] == "FP64"
    classes = json.loads(probabilities["parameters"]["classes"])
    assert classes == ["0", "1"]
    assert probabilities["data"] == [e["probabilities"][c] for e in expected for c in classes]
    assert outputs["has_diabetes"]["datatype"] == "BOOL"
    assert outputs["has_diabetes"]["data"] == [e["has_diabetes"] for e in expected]
    assert outputs["probability"]["data"] == [e["probability"] for e in expected]
    assert outputs["risk_level"]["datatype"] == "BYTES"
    assert outputs["risk_level"]["data"] == [e["risk_level"] for e in expected]
