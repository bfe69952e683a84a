"""MLflow in the cluster: PostgreSQL + MLflow from the generated stack, a training Job that
registers a version as @champion, the API following the alias, and serving through an outage."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.testing import wait_for
from k8s_mlserve.testing.specs import deep_merge
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer
from k8s_mlserve.training.examples import diabetes

from .conftest import SMALL

PATIENT = diabetes.EXAMPLE_ROW


@pytest.fixture(scope="module")
def mlflow_stack(
    mlserve_deploy: StackDeployer, postgres_image: str, mlflow_image: str
) -> Iterator[DeployedStack]:
    overrides = deep_merge(
        SMALL,
        {
            "api": {"replicas": 1},
            "autoscaling": None,
            "ui": None,
            "config": {"env": {"MLSERVE_MODEL__POLL_INTERVAL": "2"}},
            "mlflow": {
                "image": mlflow_image,
                "workers": 1,
                "resources": {"requests": {"cpu": "50m", "memory": "256Mi"}},
                "postgres": {
                    "image": postgres_image,
                    "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
                },
            },
        },
    )
    with mlserve_deploy.deploy("diabetes", overrides=overrides) as stack:
        yield stack


def _mlflow_deployment(stack: DeployedStack) -> str:
    (name,) = [
        str(m["metadata"]["name"])
        for m in stack.objects("Deployment")
        if m["metadata"]["name"].endswith("-mlflow")
    ]
    return name


def _api_pod(stack: DeployedStack) -> dict[str, Any]:
    pods = stack.cluster.pods(stack.namespace, "app.kubernetes.io/component=api")
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    assert len(running) == 1, [p["metadata"]["name"] for p in pods]
    return running[0]


def _registry_cli(url: str, *args: str) -> str:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "MLFLOW_DISABLE_TELEMETRY": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "k8s_mlserve", "registry", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_training_job_registers_the_champion_and_the_api_serves_it(
    mlflow_stack: DeployedStack,
) -> None:
    version = mlflow_stack.client.get("/version").json()
    assert version["name"] == "diabetes-model"
    assert version["version"] == "v1"
    assert version["run_id"]
    # The bundle the Job wrote to the claim serves first; the alias is followed from then on.
    assert version["source"] in {"directory /models/diabetes"} or "@champion" in version["source"]
    response = mlflow_stack.client.post("/predict", json=PATIENT, headers=mlflow_stack.headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["has_diabetes"], bool)
    assert body["risk_level"] in {"low", "moderate", "high"}
    assert body["model_version"] == "v1"


def test_a_promotion_changes_the_version_without_a_restart(
    mlflow_stack: DeployedStack, tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> None:
    pod_before = _api_pod(mlflow_stack)
    service = _mlflow_deployment(mlflow_stack)
    with mlflow_stack.cluster.port_forward(
        f"svc/{service}", 5000, namespace=mlflow_stack.namespace
    ) as forward:
        from k8s_mlserve.training.runner import train_example

        run = train_example(
            "diabetes",
            output=tmp_path_factory.mktemp("second") / "diabetes",
            data=str(data_dir),
            tracking_uri=forward.url,
            quiet=True,
        )
        assert run.tracked is not None
        assert run.tracked.version == "2"
        listing = _registry_cli(forward.url, "list", "diabetes-model")
        assert "champion" in listing
        _registry_cli(forward.url, "promote", "diabetes-model", "2", "--alias", "champion")

    def moved() -> bool:
        return bool(mlflow_stack.client.get("/version").json()["version"] == "v2")

    wait_for(
        moved,
        timeout=120,
        what="the API to follow @champion to version 2",
        describe=mlflow_stack.diagnostics,
    )
    response = mlflow_stack.client.post("/predict", json=PATIENT, headers=mlflow_stack.headers())
    assert response.json()["model_version"] == "v2"
    pod_after = _api_pod(mlflow_stack)
    assert pod_after["metadata"]["name"] == pod_before["metadata"]["name"]
    restarts = [c["restartCount"] for c in pod_after["status"]["containerStatuses"]]
    assert restarts == [0]


def test_predictions_continue_while_mlflow_is_down(mlflow_stack: DeployedStack) -> None:
    service = _mlflow_deployment(mlflow_stack)
    mlflow_stack.kubectl("scale", f"deployment/{service}", "--replicas", "0")
    try:
        wait_for(
            lambda: (
                not mlflow_stack.cluster.pods(
                    mlflow_stack.namespace, "app.kubernetes.io/component=mlflow"
                )
            ),
            timeout=120,
            what="the MLflow pod to be gone",
        )
        for _ in range(20):
            response = mlflow_stack.client.post(
                "/predict", json=PATIENT, headers=mlflow_stack.headers()
            )
            assert response.status_code == 200, response.text
        assert mlflow_stack.client.get("/ready").status_code == 200
        version = mlflow_stack.client.get("/version").json()
        assert version["version"] == "v2"
    finally:
        mlflow_stack.kubectl("scale", f"deployment/{service}", "--replicas", "1")
