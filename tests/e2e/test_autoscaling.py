"""Autoscaling on a real cluster: iris with an autoscaler (1 to 3 replicas at 50 % CPU) grows under
load and, without load, shrinks back to its minimum.

The HorizontalPodAutoscaler reads CPU usage from the resource metrics API; without a
metrics-server serving ``v1beta1.metrics.k8s.io`` it cannot scale, and the tests skip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from k8s_mlserve.testing import LoadStats, run_load
from k8s_mlserve.testing.cluster import Cluster, KubectlError
from k8s_mlserve.testing.specs import api_service, deep_merge, service_port
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

from .conftest import SMALL
from .helpers import poll

METRICS_API = "v1beta1.metrics.k8s.io"
NO_METRICS = "the cluster has no metrics-server: HPA cannot read CPU usage"
MIN_REPLICAS = 1
MAX_REPLICAS = 3
SCALE_UP_LIMIT = 300.0
SCALE_DOWN_WINDOW = 60
SCALE_DOWN_LIMIT = SCALE_DOWN_WINDOW + 240.0
LOAD_CHUNK = 20.0  # seconds of each load run; the load stops at most this long after scaling

OVERRIDES: dict[str, Any] = {
    "autoscaling": {
        "min_replicas": MIN_REPLICAS,
        "max_replicas": MAX_REPLICAS,
        "cpu_utilization": 50,
        "memory_utilization": None,
        "scale_down_stabilization_seconds": SCALE_DOWN_WINDOW,
    },
}


def metrics_problem(cluster: Cluster) -> str | None:
    """Why the HPA cannot read CPU usage on this cluster, or ``None`` when it can."""
    try:
        service = cluster.kubectl_json("get", "apiservice", METRICS_API)
    except KubectlError as exc:
        if "NotFound" in str(exc):
            return NO_METRICS
        raise
    for condition in (service.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Available":
            if condition.get("status") == "True":
                return None
            return f"{NO_METRICS} ({METRICS_API} is not Available: {condition.get('message')})"
    return f"{NO_METRICS} ({METRICS_API} reports no Available condition)"


@dataclass(frozen=True)
class Sample:
    """One look at the autoscaler: seconds since the start, replicas, CPU (% of requests)."""

    elapsed: float
    replicas: int
    desired: int
    ready: int
    cpu: int | None

    def line(self) -> str:
        cpu = "?" if self.cpu is None else f"{self.cpu}%"
        return (
            f"{self.elapsed:6.0f}s  replicas {self.replicas} (desired {self.desired}, "
            f"ready {self.ready})  cpu {cpu}"
        )


class Scaling:
    """The live colour's Deployment and its autoscaler, and what they did over time."""

    def __init__(self, stack: DeployedStack) -> None:
        self.stack = stack
        (service,) = [m for m in stack.objects("Service") if m["metadata"]["name"] == stack.name]
        selector = service["spec"]["selector"].items()
        live = [
            m["metadata"]["name"]
            for m in stack.objects("Deployment")
            if selector <= m["spec"]["template"]["metadata"]["labels"].items()
        ]
        (self.deployment,) = live
        (self.autoscaler,) = [
            m["metadata"]["name"]
            for m in stack.objects("HorizontalPodAutoscaler")
            if m["spec"]["scaleTargetRef"]["name"] == self.deployment
        ]
        self.started = time.monotonic()
        self.timeline: list[Sample] = []

    def sample(self) -> Sample:
        hpa = self.stack.cluster.kubectl_json(
            "get", "hpa", self.autoscaler, namespace=self.stack.namespace
        )
        deployment = self.stack.cluster.kubectl_json(
            "get", "deployment", self.deployment, namespace=self.stack.namespace
        )
        status = hpa.get("status") or {}
        cpu = None
        for metric in status.get("currentMetrics") or []:
            resource = metric.get("resource") or {}
            if resource.get("name") == "cpu":
                cpu = (resource.get("current") or {}).get("averageUtilization")
        sample = Sample(
            elapsed=time.monotonic() - self.started,
            replicas=int(deployment["spec"].get("replicas") or 0),
            desired=int(status.get("desiredReplicas") or 0),
            ready=int((deployment.get("status") or {}).get("readyReplicas") or 0),
            cpu=None if cpu is None else int(cpu),
        )
        self.timeline.append(sample)
        return sample

    def report(self) -> str:
        lines = [s.line() for s in self.timeline]
        return f"{self.deployment} (autoscaler {self.autoscaler}):\n" + "\n".join(lines)

    def wait(self, done: Callable[[Sample], bool], *, timeout: float, what: str) -> Sample:
        def check() -> Sample | None:
            sample = self.sample()
            return sample if done(sample) else None

        try:
            result: Sample = poll(check, timeout=timeout, interval=5, what=what, stack=self.stack)
        finally:
            print(self.report())
        return result


class Load(threading.Thread):
    """Runs the locust users against ``url`` in chunks until stopped."""

    def __init__(self, url: str, api_key: str | None) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.api_key = api_key
        self.stopping = threading.Event()
        self.runs: list[LoadStats] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                stats = run_load(
                    self.url, users=4, spawn_rate=4, duration=LOAD_CHUNK, api_key=self.api_key
                )
                self.runs.append(stats)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self) -> list[LoadStats]:
        """Stop after the current run; the runs so far (``error`` says if one failed)."""
        self.stopping.set()
        self.join(timeout=LOAD_CHUNK + 180)
        for stats in self.runs:
            print(stats.summary())
        return self.runs


def load_url(stack: DeployedStack) -> str:
    """The API as reachable from here: a node port, the ClusterIP, else the port-forward (which
    sends every request to one pod: enough to load it, but not spread over the new ones)."""
    service = stack.cluster.kubectl_json("get", "service", stack.name, namespace=stack.namespace)
    port = service_port(api_service(stack.manifests))
    candidates = []
    node_port = next(
        (p.get("nodePort") for p in service["spec"]["ports"] if p.get("nodePort")), None
    )
    if node_port:
        candidates.append(f"http://127.0.0.1:{node_port}")
        for node in stack.cluster.kubectl_json("get", "nodes")["items"]:
            for address in node["status"].get("addresses") or []:
                if address["type"] == "InternalIP":
                    candidates.append(f"http://{address['address']}:{node_port}")
    cluster_ip = service["spec"].get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        candidates.append(f"http://{cluster_ip}:{port}")
    for url in candidates:
        try:
            if httpx.get(f"{url}/ready", timeout=2.0).status_code == 200:
                return url
        except httpx.HTTPError:
            continue
    return stack.url


@pytest.fixture(scope="module")
def stack(mlserve_cluster: Cluster, mlserve_deploy: StackDeployer) -> Iterator[DeployedStack]:
    problem = metrics_problem(mlserve_cluster)
    if problem is not None:
        pytest.skip(problem)
    with mlserve_deploy.deploy("iris", overrides=deep_merge(SMALL, OVERRIDES)) as deployed:
        yield deployed


def scale_up(stack: DeployedStack, scaling: Scaling) -> Sample:
    """Load the API until its autoscaler has added replicas and they are available."""
    url = load_url(stack)
    print(f"loading {url}")
    load = Load(url, stack.api_key)
    load.start()
    try:
        grown = scaling.wait(
            lambda s: s.replicas > MIN_REPLICAS,
            timeout=SCALE_UP_LIMIT,
            what=f"the autoscaler to add replicas to {scaling.deployment} under load",
        )
    finally:
        runs = load.stop()
    assert load.error is None, f"the load test failed: {load.error}"
    assert sum(s.requests for s in runs) > 0, "the load test sent no request"
    return grown


def test_load_scales_the_api_above_its_minimum(stack: DeployedStack) -> None:
    scaling = Scaling(stack)
    assert scaling.sample().replicas == MIN_REPLICAS, scaling.report()
    grown = scale_up(stack, scaling)
    assert MIN_REPLICAS < grown.replicas <= MAX_REPLICAS, scaling.report()
    stack.cluster.wait_for_rollout(scaling.deployment, stack.namespace, timeout=300)
    assert scaling.sample().ready > MIN_REPLICAS, scaling.report()


@pytest.mark.slow
def test_without_load_the_api_scales_back_to_its_minimum(stack: DeployedStack) -> None:
    scaling = Scaling(stack)
    if scaling.sample().replicas <= MIN_REPLICAS:
        scale_up(stack, scaling)
    shrunk = scaling.wait(
        lambda s: s.replicas == MIN_REPLICAS,
        timeout=SCALE_DOWN_LIMIT,
        what=f"the autoscaler to bring {scaling.deployment} back to {MIN_REPLICAS} replica",
    )
    assert shrunk.replicas == MIN_REPLICAS, scaling.report()
    stack.cluster.wait_for_rollout(scaling.deployment, stack.namespace, timeout=300)
    stack.reconnect()  # the forwarded pod may be one of those removed
    assert stack.client.get("/ready").status_code == 200
