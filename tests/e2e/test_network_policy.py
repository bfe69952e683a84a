"""NetworkPolicy on a real cluster: with ``network_policy.allow_from`` naming labelled pods of a
labelled namespace, such a pod reaches the API and an unlabelled pod of the same namespace does not.

Only a cluster whose network plugin enforces policies can show this; a real probe finds out first
(a server pod behind a deny-all policy, and a client pod trying to reach it) and the tests skip
when the connection still gets through.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from k8s_mlserve.testing import wait_for
from k8s_mlserve.testing.cluster import Cluster
from k8s_mlserve.testing.specs import api_service, deep_merge, service_port
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

from .conftest import SMALL
from .helpers import (
    IDLE,
    Fetched,
    fetch_in_pod,
    http_server_code,
    pod_ip,
    python_pod,
    scratch_namespace,
    service_host,
    start_pods,
)

NOT_ENFORCED = "the cluster's network plugin does not enforce NetworkPolicy"
PROBE_PORT = 8080
CLIENT_LABEL = {"role": "client"}
# Where policies are enforced they take effect within a few seconds of being created.
ENFORCEMENT_DELAY = 20.0


def deny_all_ingress() -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny-all-ingress"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def policies_enforced(cluster: Cluster, image: str) -> bool:
    """Whether a deny-all ingress policy stops a pod from reaching another one."""
    with scratch_namespace(cluster, "netpol-probe") as namespace:
        server = python_pod("server", image, http_server_code(PROBE_PORT), port=PROBE_PORT)
        start_pods(cluster, namespace, [server, python_pod("client", image, IDLE)])
        url = f"http://{pod_ip(cluster, namespace, 'server')}:{PROBE_PORT}/"

        def status() -> int | None:
            return fetch_in_pod(cluster, namespace, "client", url, timeout=3).status

        # Without a policy the client must get through, or the probe would prove nothing.
        wait_for(
            lambda: status() == 200,
            timeout=60,
            interval=1,
            what=f"the probe client to reach {url} before any policy",
            describe=lambda: cluster.diagnostics(namespace),
        )
        cluster.apply([deny_all_ingress()], namespace=namespace)
        try:
            wait_for(
                lambda: status() is None,
                timeout=ENFORCEMENT_DELAY,
                interval=1,
                what="the deny-all policy to block the probe client",
            )
        except TimeoutError:
            return False
        return True


@pytest.fixture(scope="module")
def enforced(mlserve_cluster: Cluster, mlserve_image: str) -> None:
    """Skips the module unless the cluster enforces NetworkPolicy."""
    if not policies_enforced(mlserve_cluster, mlserve_image):
        pytest.skip(NOT_ENFORCED)


@pytest.fixture(scope="module")
def clients_label() -> dict[str, str]:
    """The label of the namespace the allowed clients run in."""
    return {"k8s-mlserve.io/e2e-clients": secrets.token_hex(4)}


@pytest.fixture(scope="module")
def guarded(
    enforced: None, mlserve_deploy: StackDeployer, clients_label: dict[str, str]
) -> Iterator[DeployedStack]:
    """Iris admitting only pods labelled role=client in the clients' namespace."""
    overrides = deep_merge(
        SMALL,
        {
            "api": {"replicas": 1},
            "network_policy": {
                "allow_from": [{"pod_labels": CLIENT_LABEL, "namespace_labels": clients_label}]
            },
        },
    )
    with mlserve_deploy.deploy("iris", overrides=overrides) as stack:
        yield stack


@pytest.fixture(scope="module")
def clients(
    guarded: DeployedStack, mlserve_image: str, clients_label: dict[str, str]
) -> Iterator[str]:
    """Another namespace with an allowed pod (``allowed``) and an unlabelled one (``other``)."""
    cluster = guarded.cluster
    with scratch_namespace(cluster, "netpol-clients", labels=clients_label) as namespace:
        pods = [
            python_pod("allowed", mlserve_image, IDLE, labels=CLIENT_LABEL),
            python_pod("other", mlserve_image, IDLE),
        ]
        start_pods(cluster, namespace, pods)
        yield namespace


def _ready_url(stack: DeployedStack) -> str:
    return f"http://{service_host(stack)}:{service_port(api_service(stack.manifests))}/ready"


def test_an_allowed_pod_of_another_namespace_reaches_the_api(
    guarded: DeployedStack, clients: str
) -> None:
    url = _ready_url(guarded)

    def answered() -> Fetched | None:
        fetched = fetch_in_pod(guarded.cluster, clients, "allowed", url, timeout=3)
        return fetched if fetched.status is not None else None

    # The Service's name may take a moment to resolve in a new namespace.
    answer = wait_for(
        answered,
        timeout=60,
        interval=1,
        what=f"the allowed pod to reach {url}",
        describe=guarded.diagnostics,
    )
    assert answer.status == 200, answer


def test_an_unlabelled_pod_of_that_namespace_cannot_reach_the_api(
    guarded: DeployedStack, clients: str
) -> None:
    url = _ready_url(guarded)
    allowed = wait_for(
        lambda: fetch_in_pod(guarded.cluster, clients, "allowed", url, timeout=3).status == 200,
        timeout=60,
        interval=1,
        what=f"the allowed pod to reach {url} (the comparison)",
        describe=guarded.diagnostics,
    )
    assert allowed
    for _ in range(3):
        answer = fetch_in_pod(guarded.cluster, clients, "other", url, timeout=3)
        assert answer.status is None, f"an unlabelled pod got {answer.status} from {url}"
