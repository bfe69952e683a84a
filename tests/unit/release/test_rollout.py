"""Release operations against a fake cluster injected through the ``Cluster`` seam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.manifests import DeploymentSpec, load_spec, parse_spec, render
from k8s_mlserve.release.rollout import (
    Cluster,
    RolloutError,
    abort,
    connect,
    live_colour,
    promote,
    status,
    switch,
)

from ..manifests.conftest import counting_source, example_path, minimal
from ..manifests.fake_cluster import ApiError, FakeCluster, Obj


def _cluster(spec: DeploymentSpec) -> tuple[FakeCluster, Cluster]:
    fake = FakeCluster(render(spec, counting_source()))
    return fake, Cluster(apps=fake, core=fake)


@pytest.fixture
def iris() -> DeploymentSpec:
    return load_spec(example_path("iris"))


@pytest.fixture
def churn() -> DeploymentSpec:
    return load_spec(example_path("churn"))


def test_switch_flips_the_service_to_a_ready_colour(iris: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    fake.settle("iris-green", "iris")
    assert live_colour(cluster, iris) == "blue"
    outcome = switch(cluster, iris)
    assert outcome.changed
    assert outcome.message == "Service iris now sends traffic to green (was blue)"
    service = fake.read_namespaced_service("iris", "iris")
    assert service["spec"]["selector"]["k8s-mlserve/colour"] == "green"
    assert fake.patches[-1][2][0] == {
        "op": "test",
        "path": "/spec/selector/k8s-mlserve~1colour",
        "value": "blue",
    }
    # and back again
    fake.settle("iris-blue", "iris")
    assert switch(cluster, iris, "blue").message.endswith("to blue (was green)")


def test_switch_waits_for_the_new_colour(iris: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    with pytest.raises(RolloutError, match=r"Deployment iris-green is not ready \(its latest"):
        switch(cluster, iris)
    fake.settle("iris-green", "iris", available=1)
    with pytest.raises(RolloutError, match=r"1 of 2 replicas available.*--force"):
        switch(cluster, iris)
    assert fake.patches == []
    assert switch(cluster, iris, force=True).changed


def test_switch_to_the_live_colour_changes_nothing(iris: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    outcome = switch(cluster, iris, "blue")
    assert not outcome.changed
    assert outcome.message == "blue is already live"
    assert fake.patches == []


def test_switch_fails_when_someone_else_switched_meanwhile(iris: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    fake.settle("iris-green", "iris")

    def concurrent_switch(f: FakeCluster) -> None:
        f.objects[("Service", "iris", "iris")]["spec"]["selector"]["k8s-mlserve/colour"] = "green"

    fake.before_patch.append(concurrent_switch)
    with pytest.raises(RolloutError, match="Service iris changed during the operation"):
        switch(cluster, iris)


def test_switch_reports_missing_objects(iris: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    del fake.objects[("Deployment", "iris", "iris-green")]
    with pytest.raises(RolloutError, match="Deployment iris-green not found in namespace iris"):
        switch(cluster, iris)
    del fake.objects[("Service", "iris", "iris")]
    with pytest.raises(RolloutError, match="Service iris not found in namespace iris"):
        switch(cluster, iris)


def test_switch_needs_a_colour_selector(iris: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    del fake.objects[("Service", "iris", "iris")]["spec"]["selector"]["k8s-mlserve/colour"]
    with pytest.raises(RolloutError, match="selects no colour"):
        switch(cluster, iris)


def test_operations_check_the_strategy(iris: DeploymentSpec, churn: DeploymentSpec) -> None:
    rolling = parse_spec(minimal())
    _, cluster = _cluster(rolling)
    with pytest.raises(RolloutError, match="switch needs strategy blue-green; demo uses rolling"):
        switch(cluster, rolling)
    with pytest.raises(RolloutError, match="promote needs strategy canary; iris uses blue-green"):
        promote(cluster, iris)
    with pytest.raises(RolloutError, match="abort needs strategy canary"):
        abort(cluster, iris)


def _with_new_canary(churn: DeploymentSpec) -> tuple[FakeCluster, Cluster]:
    fake, cluster = _cluster(churn)
    canary = fake.deployment("churn-canary", "churn")
    canary["spec"]["template"]["spec"]["containers"][0]["image"] = "k8s-mlserve:0.2.0"
    fake.settle("churn-canary", "churn")
    fake.settle("churn-stable", "churn")
    return fake, cluster


def test_promote_moves_the_canary_into_stable(churn: DeploymentSpec) -> None:
    fake, cluster = _with_new_canary(churn)
    outcome = promote(cluster, churn)
    assert outcome.message == (
        "churn-stable now runs the canary's pods with 4 replicas; churn-canary scaled to 0"
    )
    stable = fake.deployment("churn-stable", "churn")
    template = stable["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "k8s-mlserve:0.2.0"
    # the pods must still match the stable Deployment's selector
    assert template["metadata"]["labels"]["k8s-mlserve/track"] == "stable"
    assert stable["spec"]["selector"]["matchLabels"]["k8s-mlserve/track"] == "stable"
    assert stable["spec"]["replicas"] == 4
    assert fake.deployment("churn-canary", "churn")["spec"]["replicas"] == 0
    # each change is guarded by the version read
    assert all(body[0]["path"] == "/metadata/resourceVersion" for _, _, body in fake.patches)


def test_promote_refuses_an_unready_canary(churn: DeploymentSpec) -> None:
    fake, cluster = _with_new_canary(churn)
    fake.settle("churn-canary", "churn", available=0)
    with pytest.raises(RolloutError, match="not promoting: Deployment churn-canary is not ready"):
        promote(cluster, churn)
    assert fake.patches == []


def test_abort_returns_replicas_to_stable(churn: DeploymentSpec) -> None:
    fake, cluster = _with_new_canary(churn)
    outcome = abort(cluster, churn)
    assert outcome.changed
    assert fake.deployment("churn-stable", "churn")["spec"]["replicas"] == 4
    assert fake.deployment("churn-canary", "churn")["spec"]["replicas"] == 0
    image = fake.deployment("churn-stable", "churn")["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image == "k8s-mlserve:0.1.0"
    assert [name for _, name, _ in fake.patches] == ["churn-stable", "churn-canary"]
    again = abort(cluster, churn)
    assert not again.changed
    assert again.message == "churn-canary already has 0 replicas"


def test_status(iris: DeploymentSpec, churn: DeploymentSpec) -> None:
    fake, cluster = _cluster(iris)
    fake.settle("iris-blue", "iris")
    assert status(cluster, iris).splitlines() == [
        "live: blue",
        "iris-blue: 2 replicas, k8s-mlserve:0.1.0, ready",
        "iris-green: 2 replicas, k8s-mlserve:0.1.0, its latest change is not rolled out yet",
    ]
    fake, cluster = _with_new_canary(churn)
    assert (
        status(cluster, churn).splitlines()[1]
        == "churn-canary: 1 replicas, k8s-mlserve:0.2.0, ready"
    )


def test_other_api_errors_are_reported(iris: DeploymentSpec) -> None:
    class Forbidden(FakeCluster):
        def read_namespaced_service(self, name: str, namespace: str) -> Obj:
            raise ApiError(403, "Forbidden")

    fake = Forbidden(render(iris, counting_source()))
    with pytest.raises(RolloutError, match="Service iris: the API server answered 403 Forbidden"):
        live_colour(Cluster(apps=fake, core=fake), iris)


def test_client_models_are_read_like_dicts(iris: DeploymentSpec) -> None:
    from kubernetes import client

    class ModelCore:
        def read_namespaced_service(self, name: str, namespace: str) -> Any:
            return client.V1Service(
                metadata=client.V1ObjectMeta(name=name, namespace=namespace),
                spec=client.V1ServiceSpec(selector={"k8s-mlserve/colour": "green"}),
            )

        def patch_namespaced_service(self, name: str, namespace: str, body: Any) -> Any:
            raise AssertionError("not called")

    fake = FakeCluster([])
    assert live_colour(Cluster(apps=fake, core=ModelCore()), iris) == "green"


def test_connect_builds_clients_from_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: abc}}]\n"
        "contexts: [{name: test, context: {cluster: c, user: u}}]\n"
    )
    cluster = connect(str(kubeconfig))
    assert cluster.apps.api_client.configuration.host == "https://127.0.0.1:6443"  # type: ignore[attr-defined]
    with pytest.raises(RolloutError, match="cannot use the kubeconfig"):
        connect(str(tmp_path / "missing"))
    with pytest.raises(RolloutError, match="cannot use the kubeconfig"):
        connect(str(kubeconfig), context="nope")
