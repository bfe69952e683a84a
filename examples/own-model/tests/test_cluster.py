"""This project's model on a Kubernetes cluster, delivered the three ways a spec can choose:
baked into the image, pushed onto the models claim, and registered in MLflow and served by alias.

The plugin deploys each spec into a fresh namespace with the image it built from this project
(k8s-mlserve from a wheel, this package, its pinned libraries) and removes it afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from own_model import NAME
from own_model.train import fit

from k8s_mlserve.testing import wait_for
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[1]


def _predict(stack: DeployedStack, row: dict[str, float], **headers: str) -> httpx.Response:
    return stack.client.post("/predict", json=row, headers=headers or stack.headers())


def _serves(stack: DeployedStack, row: dict[str, float]) -> dict[str, Any]:
    """A prediction with the key succeeds, and without it is refused."""
    answer = _predict(stack, row)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["label"] in {"malignant", "benign"}
    assert stack.client.post("/predict", json=row).status_code == 401
    return body


def _drift(stack: DeployedStack, rows: list[dict[str, float]]) -> dict[str, Any]:
    sent = stack.client.post("/predict", json={"instances": rows}, headers=stack.headers())
    assert sent.status_code == 200, sent.text
    report = stack.client.get("/drift", headers=stack.monitoring_headers())
    assert report.status_code == 200, report.text
    body: dict[str, Any] = report.json()
    assert body["features"]
    return body


def _api_pods(stack: DeployedStack) -> list[tuple[str, int]]:
    pods = stack.cluster.pods(stack.namespace, "app.kubernetes.io/component=api")
    return sorted(
        (p["metadata"]["name"], sum(c["restartCount"] for c in p["status"]["containerStatuses"]))
        for p in pods
        if p["status"].get("phase") == "Running"
    )


def _wait_for_version(stack: DeployedStack, version: str) -> None:
    wait_for(
        lambda: stack.client.get("/version").json().get("version") == version,
        timeout=180,
        interval=1.0,
        what=f"the API to serve version {version}",
        describe=stack.diagnostics,
    )


def _reapply_twice_keeps_the_key(stack: DeployedStack, row: dict[str, float]) -> None:
    secrets = [m for m in stack.manifests if m["kind"] == "Secret"]
    for _ in range(2):
        again = [m for m in stack.reapply() if m["kind"] == "Secret"]
        assert [s["stringData"] for s in again] == [s["stringData"] for s in secrets]
    stack.wait_for_rollouts()
    stack.reconnect()
    assert _predict(stack, row).status_code == 200, "the key from before the re-applies"


def test_baked_into_the_image(
    mlserve_deploy: StackDeployer, mlserve_bundle: Path, rows: list[dict[str, float]]
) -> None:
    image = mlserve_deploy.bake(mlserve_bundle)
    with mlserve_deploy.deploy(PROJECT / "deploy-baked.yaml", image=image) as stack:
        body = _serves(stack, rows[0])
        assert body["model_version"] == "v1"
        assert stack.client.get("/version").json()["name"] == NAME
        _drift(stack, rows)


def test_pushed_onto_the_claim(
    mlserve_deploy: StackDeployer,
    mlserve_bundle: Path,
    second_bundle: Path,
    rows: list[dict[str, float]],
) -> None:
    with mlserve_deploy.deploy(PROJECT / "deploy.yaml", model=mlserve_bundle) as stack:
        assert _serves(stack, rows[0])["model_version"] == "v1"
        _drift(stack, rows)
        pods = _api_pods(stack)
        assert stack.push(second_bundle) == "v2"
        _wait_for_version(stack, "v2")
        assert _serves(stack, rows[0])["model_version"] == "v2"
        assert _api_pods(stack) == pods, "the pods switched without a restart"
        _reapply_twice_keeps_the_key(stack, rows[0])


def test_registered_in_mlflow_and_served_by_alias(
    mlserve_deploy: StackDeployer, rows: list[dict[str, float]]
) -> None:
    with mlserve_deploy.deploy(PROJECT / "deploy-mlflow.yaml") as stack:
        first = stack.client.get("/version").json()["version"]
        _serves(stack, rows[0])
        pods = _api_pods(stack)
        mlflow = stack.spec.name + "-mlflow"
        with stack.port_forward(mlflow, 5000) as forward:
            from k8s_mlserve.training.tracking import list_versions, log_and_register

            run = log_and_register(fit(c=0.05), tracking_uri=forward.url, force_champion=True)
            assert run.alias == "champion"
        wait_for(
            lambda: stack.client.get("/version").json().get("version") != first,
            timeout=180,
            interval=1.0,
            what="the API to follow @champion to the new version",
            describe=stack.diagnostics,
        )
        _serves(stack, rows[0])
        assert _api_pods(stack) == pods, "the pods switched without a restart"
        _reapply_twice_keeps_the_key(stack, rows[0])
        with stack.port_forward(mlflow, 5000) as forward:
            versions = list_versions(NAME, tracking_uri=forward.url)
        assert sorted(v.version for v in versions) == ["1", "2"], "MLflow kept its database"
