"""Every example on a real cluster: the training Job fills the models claim, the API serves the
example's response contract behind its key, metrics behind the monitoring token, a replaced pod
serves the same version from the claim, and the containers run locked down.

Each example is deployed once for all the tests of this module (a module-scoped, parametrized
stack; diabetes is the session's, shared with test_ui), with the shared small resources and fewer
replicas than the examples ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from k8s_mlserve.testing.specs import deep_merge
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer
from k8s_mlserve.training.examples import churn, diabetes, iris

from .conftest import SMALL
from .helpers import (
    SERVER_UID,
    api_pods,
    fetch_in_pod,
    job_condition,
    poll,
    run_in_pod,
    served_pods,
)

IRIS_ROW = iris.EXAMPLE_ROW
PATIENT = diabetes.EXAMPLE_ROW
CUSTOMER = {**churn.EXAMPLE_ROW, "TotalCharges": 29.85}

# Fewer pods than the examples ask for, to fit a small node: iris keeps one pod per colour,
# churn one stable and one canary pod; diabetes is the session's shared stack (conftest.DIABETES:
# one pod of its staging environment, without its MLflow stack, with its page).
OVERRIDES: dict[str, dict[str, Any]] = {
    "iris": {"api": {"replicas": 1}},
    "churn": {"api": {"replicas": 2}},
}


def _iris(body: dict[str, Any]) -> None:
    species = {"setosa", "versicolor", "virginica"}
    assert body["label"] == "setosa", body
    probabilities = body["probabilities"]
    assert set(probabilities) == species, body
    assert all(0.0 <= p <= 1.0 for p in probabilities.values()), body
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-6), body
    assert max(probabilities, key=probabilities.get) == body["label"], body


def _diabetes(body: dict[str, Any]) -> None:
    assert isinstance(body["has_diabetes"], bool), body
    assert 0.0 <= body["probability"] <= 1.0, body
    assert body["risk_level"] in {"low", "moderate", "high"}, body


def _churn(body: dict[str, Any]) -> None:
    assert isinstance(body["will_churn"], bool), body
    assert 0.0 <= body["churn_probability"] <= 1.0, body
    assert body["risk_level"] in {"low", "medium", "high"}, body


CONTRACTS: dict[str, tuple[dict[str, Any], Callable[[dict[str, Any]], None]]] = {
    "iris": (IRIS_ROW, _iris),
    "diabetes": (PATIENT, _diabetes),
    "churn": (CUSTOMER, _churn),
}


@pytest.fixture(scope="module", params=["iris", "diabetes", "churn"])
def example(
    request: pytest.FixtureRequest, mlserve_deploy: StackDeployer
) -> Iterator[DeployedStack]:
    """One example deployed for all the tests of this module."""
    name: str = request.param
    if name == "diabetes":
        yield request.getfixturevalue("diabetes_stack")
        return
    with mlserve_deploy.deploy(name, overrides=deep_merge(SMALL, OVERRIDES[name])) as stack:
        yield stack


def _api_container(stack: DeployedStack) -> tuple[str, str]:
    """A Ready API pod of the stack and its container's name."""
    pods = api_pods(stack)
    assert pods, stack.diagnostics()
    pod = pods[0]
    return pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]


def test_training_job_publishes_the_registry_on_the_models_claim(example: DeployedStack) -> None:
    (job,) = [m["metadata"]["name"] for m in example.objects("Job")]
    finished = example.cluster.kubectl_json("get", "job", job, namespace=example.namespace)
    assert job_condition(finished) == "Complete", finished["status"]
    assert finished["status"].get("succeeded") == 1, finished["status"]
    pod, container = _api_container(example)
    model = example.spec.model_name
    listing = run_in_pod(
        example.cluster,
        example.namespace,
        pod,
        "ls",
        f"/models/{model}/versions",
        container=container,
    )
    assert listing.returncode == 0, listing.stderr
    versions = listing.stdout.split()
    served = example.client.get("/version").json()
    assert served["version"] in versions, (versions, served)


def test_the_api_is_ready_with_the_trained_model(example: DeployedStack) -> None:
    assert example.client.get("/ready").status_code == 200
    version = example.client.get("/version").json()
    assert version["name"] == f"{example.name}-model"
    assert version["source"] == f"directory /models/{example.spec.model_name}", version
    # Every API pod of the stack (both colours, both tracks) is Ready.
    wanted = sum(
        int(
            example.cluster.kubectl_json("get", "deployment", name, namespace=example.namespace)[
                "spec"
            ]["replicas"]
        )
        for name in example.deployments()
    )
    assert len(api_pods(example)) == wanted, example.diagnostics()


def test_an_authenticated_prediction_follows_the_contract(example: DeployedStack) -> None:
    row, check = CONTRACTS[example.name]
    answer = example.client.post("/predict", json=row, headers=example.headers())
    assert answer.status_code == 200, answer.text
    check(answer.json())


def test_a_prediction_without_the_key_is_refused(example: DeployedStack) -> None:
    row, _ = CONTRACTS[example.name]
    assert example.client.post("/predict", json=row).status_code == 401
    wrong = {"X-API-Key": "not-the-key"}
    assert example.client.post("/predict", json=row, headers=wrong).status_code == 401


def test_metrics_need_the_monitoring_token(example: DeployedStack) -> None:
    assert example.client.get("/metrics").status_code == 401
    answer = example.client.get("/metrics", headers=example.monitoring_headers())
    assert answer.status_code == 200, answer.text
    assert "# TYPE" in answer.text


def test_containers_run_as_the_server_user_on_a_read_only_root(example: DeployedStack) -> None:
    pod, container = _api_container(example)

    def run(*command: str) -> tuple[int, str]:
        result = run_in_pod(example.cluster, example.namespace, pod, *command, container=container)
        return result.returncode, (result.stdout + result.stderr).strip()

    assert run("id", "-u") == (0, str(SERVER_UID))
    for directory in ("/", "/opt"):
        code, output = run("touch", f"{directory.rstrip('/')}/written-by-e2e")
        assert code != 0, f"writing to {directory} succeeded"
        assert "Read-only file system" in output, output
    assert run("touch", "/tmp/written-by-e2e") == (0, "")


def test_a_replaced_pod_serves_the_same_version_from_the_claim(example: DeployedStack) -> None:
    before = served_pods(example)
    assert before, example.diagnostics()
    victim = before[0]
    old = fetch_in_pod(example.cluster, example.namespace, victim, "http://127.0.0.1:8000/version")
    assert old.status == 200, old
    all_before = {p["metadata"]["name"] for p in api_pods(example, ready_only=False)}
    example.kubectl("delete", "pod", victim, "--wait=false")

    def replacement() -> str | None:
        fresh = [n for n in served_pods(example) if n not in all_before]
        return fresh[0] if fresh else None

    new_pod = poll(
        replacement,
        timeout=300,
        what=f"a Ready pod replacing {victim}",
        stack=example,
    )
    new = fetch_in_pod(example.cluster, example.namespace, new_pod, "http://127.0.0.1:8000/version")
    assert new.status == 200, new
    assert new.json()["name"] == old.json()["name"]
    assert new.json()["version"] == old.json()["version"]
    assert new.json()["source"] == old.json()["source"]
    # The Service answers again, through a new port-forward to a surviving or the new pod.
    example.reconnect()
    assert example.client.get("/version").json()["version"] == old.json()["version"]
