"""The diabetes example's ``staging`` environment deploys and serves on the cluster.

The session's diabetes stack (``diabetes_stack`` in conftest.py) is that environment: its
overrides (settings, one pod, no autoscaler, no disruption budget) must reach the cluster.
"""

from __future__ import annotations

from k8s_mlserve.testing.stack import DeployedStack
from k8s_mlserve.training.examples import diabetes

from .conftest import DIABETES_ENVIRONMENT

PATIENT = diabetes.EXAMPLE_ROW


def _names(stack: DeployedStack, kind: str) -> list[str]:
    listed = stack.cluster.kubectl_json("get", kind, namespace=stack.namespace)
    return [item["metadata"]["name"] for item in listed["items"]]


def test_the_staging_environment_is_what_was_deployed(diabetes_stack: DeployedStack) -> None:
    assert DIABETES_ENVIRONMENT == "staging"
    config = diabetes_stack.cluster.kubectl_json(
        "get", "configmap", f"{diabetes_stack.name}-config", namespace=diabetes_stack.namespace
    )["data"]
    assert config["MLSERVE_SERVER__ENVIRONMENT"] == "staging"
    assert config["MLSERVE_SERVER__LOG_LEVEL"] == "debug"
    assert _names(diabetes_stack, "horizontalpodautoscalers") == []
    assert _names(diabetes_stack, "poddisruptionbudgets") == []


def test_the_staging_environment_serves_predictions(diabetes_stack: DeployedStack) -> None:
    root = diabetes_stack.client.get("/").json()
    assert root["environment"] == "staging", root
    answer = diabetes_stack.client.post(
        "/predict", json=PATIENT, headers=diabetes_stack.headers()
    )
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["has_diabetes"], bool), answer.json()
