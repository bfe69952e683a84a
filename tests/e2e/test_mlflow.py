"""MLflow in the cluster: PostgreSQL + MLflow from the generated stack, a training Job that
registers a version as @champion, the API following the alias, and serving through an outage."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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


def _one_api_pod_left(stack: DeployedStack) -> bool:
    """Whether the API runs as one pod, not being deleted (a rollout has finished)."""
    pods = stack.cluster.pods(stack.namespace, "app.kubernetes.io/component=api")
    return len(pods) == 1 and "deletionTimestamp" not in pods[0]["metadata"]


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


def test_a_shadow_challenger_is_reported_judged_and_promoted_on_a_passing_verdict(
    mlflow_stack: DeployedStack,
) -> None:
    """docs/releases.md's flow on the cluster: version 1 registered as @challenger, the spec's
    shadow section applied, live traffic scored by both, ``/shadow`` and ``rollout analyze``
    read through the API server, and ``promote --if-healthy`` moving @champion to it."""
    from k8s_mlserve.manifests.spec_release import Analysis, Shadow
    from k8s_mlserve.release import gates
    from k8s_mlserve.release.live_metrics import analyze
    from k8s_mlserve.release.rollout import connect
    from k8s_mlserve.training.tracking import promote

    service = _mlflow_deployment(mlflow_stack)
    # The outage test before this one scales MLflow back up without waiting for it.
    mlflow_stack.cluster.wait_for_rollout(service, mlflow_stack.namespace, timeout=300)
    with mlflow_stack.cluster.port_forward(
        f"svc/{service}", 5000, namespace=mlflow_stack.namespace
    ) as forward:
        _registry_cli(forward.url, "promote", "diabetes-model", "1", "--alias", "challenger")
    mlflow_stack.spec = mlflow_stack.spec.model_copy(
        update={
            "shadow": Shadow(challenger="@challenger", sample_rate=1.0),
            "analysis": Analysis(min_rows=40),
        }
    )
    mlflow_stack.reapply()  # the ConfigMap changes: the API pod rolls
    mlflow_stack.wait_for_rollouts()
    wait_for(
        lambda: _one_api_pod_left(mlflow_stack),
        timeout=180,
        what="the replaced API pod to be gone",
        describe=mlflow_stack.diagnostics,
    )
    mlflow_stack.reconnect()  # the port-forward followed the replaced pod

    def challenger_loaded() -> bool:
        try:
            report = mlflow_stack.client.get(
                "/shadow", headers=mlflow_stack.monitoring_headers()
            )
        except httpx.TransportError:
            mlflow_stack.reconnect()
            return False
        return bool(report.status_code == 200 and report.json()["challenger"])

    wait_for(
        challenger_loaded,
        timeout=180,
        what="the API to load @challenger beside @champion",
        describe=mlflow_stack.diagnostics,
    )
    for _ in range(50):
        answer = mlflow_stack.client.post("/predict", json=PATIENT, headers=mlflow_stack.headers())
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == "v2", "the champion answers, never the challenger"

    def report() -> dict[str, Any]:
        answer = mlflow_stack.client.get("/shadow", headers=mlflow_stack.monitoring_headers())
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    wait_for(lambda: report()["rows_scored"] >= 50, timeout=120, what="50 rows shadow-scored")
    shown = report()
    assert (shown["champion"]["version"], shown["challenger"]["version"]) == ("v2", "v1"), shown
    assert shown["errors"] == 0, shown
    assert shown["agreement"] is not None, shown

    kubeconfig = mlflow_stack.cluster.kubeconfig
    cluster = connect(str(kubeconfig) if kubeconfig else None)
    verdict = analyze(cluster, mlflow_stack.spec, kind="shadow")
    assert verdict.challenger is not None, verdict.table()
    assert verdict.challenger.version == "v1", verdict.table()
    assert verdict.status == "pass", verdict.table()  # both versions: the same data and seed

    with mlflow_stack.cluster.port_forward(
        f"svc/{service}", 5000, namespace=mlflow_stack.namespace
    ) as forward:
        outcome = gates.promote_on(
            verdict,
            cluster,
            mlflow_stack.spec,
            move_alias=lambda name, version, alias: promote(
                name, version, alias=alias, tracking_uri=forward.url
            ),
        )
    assert outcome.changed, outcome.message
    wait_for(
        lambda: mlflow_stack.client.get("/version").json()["version"] == "v1",
        timeout=120,
        what="the API to follow @champion to the promoted challenger",
        describe=mlflow_stack.diagnostics,
    )
