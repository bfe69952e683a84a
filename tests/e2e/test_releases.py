"""Releasing new iris models on a cluster: a rolling update under steady traffic without one failed
request and its rollback, a blue/green switch and back, and a 25 % canary promoted or aborted.

Each strategy gets its own stack. Its training Job publishes v1 (random forest); copies of that Job
add v2 (SVM) and v3 (logistic regression) to the same registry, and the Deployments pin the
version they serve. Every prediction names its ``model_version`` and ``/version`` its algorithm,
so the answers show which release served them. Traffic goes to the Service, as clients' would
(see ``releases_helpers``), each request on a new connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from k8s_mlserve.testing.specs import deep_merge
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

from .conftest import SMALL
from .releases_helpers import (
    ServiceTraffic,
    cut_over,
    failures,
    iris_spec,
    rollout,
    service_traffic,
    settle,
    summary,
    train_versions,
    versions,
)

ALGORITHMS = {"v1": "rf", "v2": "svm", "v3": "logreg"}
SWITCH_LAG = 5.0  # seconds a Service change may take to reach kube-proxy's rules


def _overrides(**sections: Any) -> dict[str, Any]:
    return deep_merge(SMALL, {"training": {"version": "v1", "algorithm": "rf"}, **sections})


@contextmanager
def iris_stack(
    deployer: StackDeployer, strategy: Mapping[str, Any], overrides: Mapping[str, Any]
) -> Iterator[DeployedStack]:
    """Iris with ``strategy``, serving v1, with v2 and v3 trained into its registry."""
    with deployer.deploy(iris_spec(strategy), overrides=overrides) as stack:
        more = {v: a for v, a in ALGORITHMS.items() if v != "v1"}
        train_versions(stack, more, timeout=deployer.timeout)
        yield stack


def _replicas(stack: DeployedStack, deployment: str) -> int:
    live = stack.cluster.kubectl_json("get", "deployment", deployment, namespace=stack.namespace)
    return int(live["spec"]["replicas"])


def test_rolling_update_drops_no_request_and_rolls_back(mlserve_deploy: StackDeployer) -> None:
    strategy = {"type": "rolling", "max_surge": 1, "max_unavailable": 0}
    overrides = _overrides(model={"version": "v1"}, api={"replicas": 2})
    with (
        iris_stack(mlserve_deploy, strategy, overrides) as stack,
        service_traffic(stack) as traffic,
    ):
        assert traffic.model() == ("v1", "rf")

        with traffic.steady() as recording:
            mlserve_deploy.update(stack, {"model": {"version": "v2"}})
            settle(stack)
            recording.more(50)
        answers = recording.answers
        assert not failures(answers), summary(answers)
        assert set(versions(answers)) == {"v1", "v2"}, summary(answers)
        assert {a.version for a in answers[:5]} == {"v1"}, summary(answers)
        assert {a.version for a in answers[-50:]} == {"v2"}, summary(answers)
        assert traffic.model() == ("v2", "svm")

        (deployment,) = stack.deployments()
        with traffic.steady() as recording:
            stack.kubectl("rollout", "undo", f"deployment/{deployment}")
            settle(stack)
            recording.more(50)
        answers = recording.answers
        assert not failures(answers), summary(answers)
        assert {a.version for a in answers[-50:]} == {"v1"}, summary(answers)
        assert traffic.served() == {"v1": 20}
        assert traffic.model() == ("v1", "rf")


def _switch(stack: DeployedStack, traffic: ServiceTraffic, to: str, old: str, new: str) -> None:
    """Switch the live colour under steady traffic: not one request fails, and the answers move
    from ``old`` to ``new`` once and for all, soon after the switch."""
    with traffic.steady() as recording:
        message = rollout(stack, "switch", "--to", to)
        switched = time.monotonic()
        recording.wait_for(f"an answer from {new}", lambda a: a[-1].version == new, SWITCH_LAG)
        recording.more(50)
    answers = recording.answers
    assert f"now sends traffic to {to}" in message, message
    assert not failures(answers), summary(answers)
    first = cut_over(answers, old, new)
    lag = answers[first].at - switched
    assert lag < SWITCH_LAG, f"{new} answered first {lag:.1f}s after the switch"
    assert traffic.served() == {new: 20}
    assert traffic.model() == (new, ALGORITHMS[new])
    assert f"live: {to}" in rollout(stack, "status")


def test_blue_green_switches_every_request_at_once(mlserve_deploy: StackDeployer) -> None:
    strategy = {
        "type": "blue-green",
        "live": "blue",
        "blue": {"model_version": "v1"},
        "green": {"model_version": "v1"},
    }
    overrides = _overrides(api={"replicas": 2})
    with (
        iris_stack(mlserve_deploy, strategy, overrides) as stack,
        service_traffic(stack) as traffic,
    ):
        # The new version goes to the idle colour once it is trained; blue keeps serving.
        mlserve_deploy.update(stack, {"strategy": {"green": {"model_version": "v2"}}})
        settle(stack)
        assert traffic.served() == {"v1": 20}

        _switch(stack, traffic, "green", "v1", "v2")
        _switch(stack, traffic, "blue", "v2", "v1")

        # The next release goes to the idle colour again, while blue serves.
        mlserve_deploy.update(stack, {"strategy": {"green": {"model_version": "v3"}}})
        settle(stack)
        assert traffic.served() == {"v1": 20}
        _switch(stack, traffic, "green", "v1", "v3")


def _canary_at_25(deployer: StackDeployer, stack: DeployedStack, traffic: ServiceTraffic) -> None:
    """Apply the spec with the canary at 25 %: 3 stable pods on v1 and 1 canary pod on v2
    (whatever a promote or an abort did before), and check both serve."""
    deployer.update(stack, {"strategy": {"percent": 25}})
    settle(stack)
    names = stack.deployments()
    assert [_replicas(stack, name) for name in names] == [1, 3], names  # canary, stable
    assert set(traffic.served(40)) == {"v1", "v2"}


class TestCanary:
    """A canary at 25 % takes its share of the requests; aborted, then started over and
    promoted."""

    @pytest.fixture(scope="class")
    @classmethod
    def stack(cls, mlserve_deploy: StackDeployer) -> Iterator[DeployedStack]:
        # The canary starts at 0 % (no pod) and takes its share once v2 is trained.
        strategy = {"type": "canary", "percent": 0, "canary": {"model_version": "v2"}}
        overrides = _overrides(model={"version": "v1"}, api={"replicas": 4})
        with iris_stack(mlserve_deploy, strategy, overrides) as stack:
            yield stack

    @pytest.fixture(scope="class")
    @classmethod
    def traffic(cls, stack: DeployedStack) -> Iterator[ServiceTraffic]:
        with service_traffic(stack) as traffic:
            yield traffic

    def test_canary_gets_a_quarter_of_the_requests(
        self, mlserve_deploy: StackDeployer, stack: DeployedStack, traffic: ServiceTraffic
    ) -> None:
        _canary_at_25(mlserve_deploy, stack, traffic)
        answers = traffic.send(200)
        assert not failures(answers), summary(answers)
        served = versions(answers)
        assert set(served) == {"v1", "v2"}, summary(answers)
        share = 100 * served["v2"] / len(answers)
        assert 15 <= share <= 35, f"v2 answered {share:.1f} %\n{summary(answers)}"

    def test_abort_moves_every_request_back_to_stable(
        self, mlserve_deploy: StackDeployer, stack: DeployedStack, traffic: ServiceTraffic
    ) -> None:
        _canary_at_25(mlserve_deploy, stack, traffic)
        with traffic.steady() as recording:
            message = rollout(stack, "abort")
            settle(stack)
            recording.more(50)
        answers = recording.answers
        assert "scaled to 0" in message, message
        assert not failures(answers), summary(answers)
        assert {a.version for a in answers[-50:]} == {"v1"}, summary(answers)
        assert _replicas(stack, f"{stack.name}-stable") == 4
        assert _replicas(stack, f"{stack.name}-canary") == 0
        assert traffic.served(40) == {"v1": 40}
        assert traffic.model() == ("v1", "rf")

    def test_promote_moves_every_request_to_the_canary(
        self, mlserve_deploy: StackDeployer, stack: DeployedStack, traffic: ServiceTraffic
    ) -> None:
        _canary_at_25(mlserve_deploy, stack, traffic)
        with traffic.steady() as recording:
            message = rollout(stack, "promote")
            settle(stack)
            recording.more(50)
        answers = recording.answers
        assert "scaled to 0" in message, message
        assert not failures(answers), summary(answers)
        assert {a.version for a in answers[-50:]} == {"v2"}, summary(answers)
        assert _replicas(stack, f"{stack.name}-stable") == 4
        assert _replicas(stack, f"{stack.name}-canary") == 0
        assert traffic.served(40) == {"v2": 40}
        assert traffic.model() == ("v2", "svm")
