"""MLflow in the cluster: PostgreSQL + MLflow from the generated stack, a training Job that
registers a version as @champion, the API following the alias, serving through an outage, and
docs/releases.md's shadow flow run as written."""

from __future__ import annotations

import os
import socket
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
from .page_shell import PageShell, page_commands, page_environment

PATIENT = diabetes.EXAMPLE_ROW
RELEASES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "releases.md"
SHADOW_SECTION = "Shadow: train, register as challenger, score live traffic, promote"


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


def test_the_shadow_flow_of_the_releases_page_runs_as_written(
    mlflow_stack: DeployedStack, tmp_path: Path
) -> None:
    """docs/releases.md's shadow section, command by command, against this stack: a version
    trained and registered as @challenger, the spec's shadow section applied, live traffic
    scored by both, ``rollout analyze`` passing and ``promote --if-healthy`` moving @champion.

    The page's ``examples/diabetes/deploy.yaml`` is the stack's spec, written under that name in
    the page's working directory, and its namespace the stack's. Between commands the test
    sends the traffic the page says to let flow, and checks what each command did.
    """
    commands = page_commands(RELEASES_PAGE, SHADOW_SECTION)
    namespace = mlflow_stack.namespace
    service = _mlflow_deployment(mlflow_stack)
    assert commands[0] == f"kubectl -n diabetes port-forward svc/{service} 5000:5000 &", commands
    assert not {"shadow", "analysis"} & mlflow_stack.spec.model_fields_set, "the page adds them"
    mlflow_stack.write_spec(tmp_path / "examples" / "diabetes" / "deploy.yaml")
    # The outage test before this one scales MLflow back up without waiting for it.
    mlflow_stack.cluster.wait_for_rollout(service, namespace, timeout=300)
    shell = PageShell(
        commands,
        tmp_path,
        page_environment(mlflow_stack, tmp_path),
        substitutions={" -n diabetes ": f" -n {namespace} "},
    )
    with shell:
        shell.next("kubectl -n diabetes port-forward")
        wait_for(lambda: _listening(5000), timeout=60, what="the page's port-forward to MLflow")
        shell.next("export MLFLOW_TRACKING_URI=")
        trained = shell.next("k8s-mlserve train diabetes")
        # the same data and seed as @champion: it does not beat it, so it is the challenger
        assert "registered diabetes-model version 3 in MLflow" in trained, trained
        assert "as @challenger" in trained, trained
        listing = shell.next("k8s-mlserve registry list")
        assert [line.split()[:2] for line in listing.splitlines()[1:]] == [
            ["3", "@challenger"],
            ["2", "@champion"],
            ["1", "-"],
        ], listing
        promoted = shell.next("k8s-mlserve registry promote diabetes-model latest")
        assert "diabetes-model version 3 is now @challenger" in promoted, promoted
        shell.next("cp examples/diabetes/deploy.yaml diabetes-shadow.yaml")
        shell.next("cat >> diabetes-shadow.yaml")
        # the ConfigMap changes: the API pod rolls and loads the challenger
        shell.next("k8s-mlserve apply diabetes-shadow.yaml --wait")
        wait_for(
            lambda: _one_api_pod_left(mlflow_stack),
            timeout=180,
            what="the replaced API pod to be gone",
            describe=mlflow_stack.diagnostics,
        )
        mlflow_stack.reconnect()  # the port-forward followed the replaced pod
        wait_for(
            lambda: _shadow(mlflow_stack)["challenger"] is not None,
            timeout=180,
            what="the API to load @challenger beside @champion",
            describe=mlflow_stack.diagnostics,
        )
        assert mlflow_stack.client.get("/version").json()["version"] == "v2"

        # Let traffic flow: the page's min_rows (200) at its sample_rate (0.5).
        sent = 0
        while _shadow(mlflow_stack)["rows_scored"] < 200:
            assert sent < 2000, _shadow(mlflow_stack)
            for _ in range(100):
                answer = mlflow_stack.client.post(
                    "/predict", json=PATIENT, headers=mlflow_stack.headers()
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["model_version"] == "v2", "the champion answers, alone"
            sent += 100
        report = _shadow(mlflow_stack)
        assert (report["champion"]["version"], report["challenger"]["version"]) == ("v2", "v3")
        assert report["errors"] == 0, report
        assert report["agreement"] >= 0.95, report  # the same data and seed as the champion
        assert 0 < report["rows_scored"] < sent, "a share of the requests is scored"

        verdict = shell.next("k8s-mlserve rollout analyze diabetes-shadow.yaml")
        assert "challenger diabetes-model version v3 against champion" in verdict, verdict
        assert "verdict: pass" in verdict, verdict
        moved = shell.next("k8s-mlserve rollout promote diabetes-shadow.yaml --if-healthy")
        assert "verdict: pass" in moved, moved
        assert "diabetes-model version v3 is now @champion (was version 2)" in moved, moved
    assert shell.left == [], "every command of the section ran"
    wait_for(
        lambda: mlflow_stack.client.get("/version").json()["version"] == "v3",
        timeout=120,
        what="the API to follow @champion to the promoted challenger",
        describe=mlflow_stack.diagnostics,
    )


def _shadow(stack: DeployedStack) -> dict[str, Any]:
    try:
        answer = stack.client.get("/shadow", headers=stack.monitoring_headers())
    except httpx.TransportError:
        stack.reconnect()
        answer = stack.client.get("/shadow", headers=stack.monitoring_headers())
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
