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
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.testing.specs import deep_merge
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

from .conftest import SMALL
from .page_shell import PageShell, page_commands, page_environment
from .releases_helpers import (
    Answer,
    ServiceTraffic,
    broken_iris_bundle,
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
RELEASES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "releases.md"
CANARY_SECTION = "Canary: the new version takes a share of the traffic"
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


def _canary_at_25(
    deployer: StackDeployer, stack: DeployedStack, traffic: ServiceTraffic, version: str = "v2"
) -> None:
    """Apply the spec with the canary at 25 %: 3 stable pods on v1 and 1 canary pod on
    ``version`` (whatever a promote or an abort did before), and check both serve."""
    deployer.update(stack, {"strategy": {"percent": 25, "canary": {"model_version": version}}})
    settle(stack)
    names = stack.deployments()
    assert [_replicas(stack, name) for name in names] == [1, 3], names  # canary, stable
    if version == "v2":
        assert set(traffic.served(40)) == {"v1", "v2"}


def _all_on_stable(
    stack: DeployedStack, traffic: ServiceTraffic, answers: list[Answer], version: str
) -> None:
    """After a promote or an abort: no request failed during it, the last 50 and 40 more are
    all ``version``, and the stable Deployment runs all 4 pods."""
    assert not failures(answers), summary(answers)
    assert {a.version for a in answers[-50:]} == {version}, summary(answers)
    assert _replicas(stack, f"{stack.name}-stable") == 4
    assert _replicas(stack, f"{stack.name}-canary") == 0
    assert traffic.served(40) == {version: 40}
    assert traffic.model() == (version, ALGORITHMS[version])


class TestCanary:
    """A canary at 25 % takes its share of the requests; aborted; a broken version refused and
    aborted on its numbers; then v2 promoted on a passing verdict."""

    @pytest.fixture(scope="class")
    @classmethod
    def stack(cls, mlserve_deploy: StackDeployer) -> Iterator[DeployedStack]:
        # The canary starts at 0 % (no pod) and takes its share once v2 is trained. About 50 of
        # 200 requests reach it: the verdict wants 25. The latency check is loose: a handful of
        # canary answers on a busy machine make a noisy p99; the 5xx ratio decides here.
        strategy = {"type": "canary", "percent": 0, "canary": {"model_version": "v2"}}
        overrides = _overrides(
            model={"version": "v1"},
            api={"replicas": 4},
            analysis={"min_rows": 25, "max_p99_ratio": 4.0},
        )
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
        _all_on_stable(stack, traffic, answers, "v1")

    def test_a_broken_canary_is_refused_and_aborted_on_its_numbers(
        self,
        mlserve_deploy: StackDeployer,
        stack: DeployedStack,
        traffic: ServiceTraffic,
        tmp_path: Path,
    ) -> None:
        stack.push(broken_iris_bundle(tmp_path / "v4", "v4"), version="v4")
        _canary_at_25(mlserve_deploy, stack, traffic, version="v4")
        answers = traffic.send(200)
        broken = failures(answers)
        assert {a.status for a in broken} == {500}, summary(answers)
        assert {a.version for a in answers if a.ok} == {"v1"}, summary(answers)
        share = 100 * len(broken) / len(answers)
        assert 15 <= share <= 35, f"the canary failed {share:.1f} %\n{summary(answers)}"

        refused = rollout(stack, "promote", "--if-healthy", exit_code=1)
        assert "canary 5xx ratio" in refused, refused
        assert "not promoting: the canary verdict is fail" in refused, refused
        assert _replicas(stack, f"{stack.name}-canary") == 1
        assert _replicas(stack, f"{stack.name}-stable") == 3

        aborted = rollout(stack, "abort", "--if-unhealthy", exit_code=1)
        assert "the canary verdict failed" in aborted, aborted
        assert "scaled to 0" in aborted, aborted
        settle(stack)
        assert _replicas(stack, f"{stack.name}-canary") == 0
        assert traffic.served(40) == {"v1": 40}

    def test_the_releases_page_promotes_a_healthy_canary(
        self,
        mlserve_deploy: StackDeployer,
        stack: DeployedStack,
        traffic: ServiceTraffic,
        tmp_path: Path,
    ) -> None:
        """docs/releases.md's canary section, command by command, with v2 as the canary: the
        page's ``examples/churn/deploy.yaml`` is this stack's spec, written under that name."""
        _canary_at_25(mlserve_deploy, stack, traffic)
        stack.write_spec(tmp_path / "examples" / "churn" / "deploy.yaml")
        commands = page_commands(RELEASES_PAGE, CANARY_SECTION)
        with PageShell(commands, tmp_path, page_environment(stack, tmp_path)) as shell:
            shell.next("k8s-mlserve apply examples/churn/deploy.yaml --wait")  # no change
            settle(stack)
            answers = traffic.send(200)
            assert not failures(answers), summary(answers)
            verdict = shell.next("k8s-mlserve rollout analyze")
            assert "verdict: pass" in verdict, verdict
            with traffic.steady() as recording:
                message = shell.next("k8s-mlserve rollout promote")
                settle(stack)
                recording.more(50)
            # promoted: no canary pod is left to judge, so nothing is aborted
            left = shell.next("k8s-mlserve rollout abort", exit_code=2)
        assert shell.left == [], "every command of the section ran"
        assert "not aborting: the canary verdict is insufficient" in left, left
        answers = recording.answers
        assert "the canary verdict passed" in message, message
        assert "scaled to 0" in message, message
        _all_on_stable(stack, traffic, answers, "v2")
