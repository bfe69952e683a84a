"""Helpers shared by the end-to-end suites: API pods, commands inside pods, HTTP from inside the
cluster, scratch namespaces with probe pods, and Jobs that may fail on purpose."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from k8s_mlserve.release.checks import pod_is_ready
from k8s_mlserve.testing import wait_for
from k8s_mlserve.testing.cluster import TEST_LABEL, Cluster
from k8s_mlserve.testing.specs import fresh_namespace
from k8s_mlserve.testing.stack import DeployedStack

T = TypeVar("T")

API_SELECTOR = "app.kubernetes.io/component=api"
SERVER_UID = 10001

# Run by python3 inside a pod: one GET, printed as JSON. A refused or timed-out connection is an
# answer too (status null), since the network suites expect some connections to be blocked.
_FETCH = """\
import json, sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], headers=json.loads(sys.argv[2]))
try:
    with urllib.request.urlopen(request, timeout=float(sys.argv[3])) as answer:
        result = {"status": answer.status, "body": answer.read().decode()}
except urllib.error.HTTPError as error:
    result = {"status": error.code, "body": error.read().decode()}
except OSError as error:
    result = {"status": None, "body": "", "error": f"{type(error).__name__}: {error}"}
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Fetched:
    """What a GET from inside a pod got: ``status`` is ``None`` when no connection was made."""

    status: int | None
    body: str
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def run_in_pod(
    cluster: Cluster,
    namespace: str,
    pod: str,
    *command: str,
    container: str | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """``kubectl exec`` a command, returning its exit code and output whatever they are."""
    args = ["exec", pod] + (["-c", container] if container else []) + ["--", *command]
    return subprocess.run(
        cluster.command(*args, namespace=namespace),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def fetch_in_pod(
    cluster: Cluster,
    namespace: str,
    pod: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    container: str | None = None,
    timeout: float = 5.0,
) -> Fetched:
    """GET ``url`` from inside a pod with its own python3 (the server image has no curl)."""
    result = run_in_pod(
        cluster,
        namespace,
        pod,
        "python3",
        "-c",
        _FETCH,
        url,
        json.dumps(dict(headers or {})),
        str(timeout),
        container=container,
        timeout=timeout + 60,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"fetching {url} in pod {pod} exited with {result.returncode}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Fetched(status=data["status"], body=data["body"], error=data.get("error"))


def api_pods(stack: DeployedStack, *, ready_only: bool = True) -> list[dict[str, Any]]:
    """The stack's API pods (by default only the Ready ones that are not being deleted)."""
    pods = stack.cluster.pods(stack.namespace, API_SELECTOR)
    if not ready_only:
        return pods
    return [p for p in pods if pod_is_ready(p, serving=True)]


def served_pods(stack: DeployedStack) -> list[str]:
    """Names of the Ready pods behind the API Service (the live colour for blue-green)."""
    (service,) = [m for m in stack.objects("Service") if m["metadata"]["name"] == stack.name]
    selector = service["spec"]["selector"]
    return sorted(
        p["metadata"]["name"]
        for p in api_pods(stack)
        if all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
    )


def service_host(stack: DeployedStack) -> str:
    """The API Service's DNS name inside the cluster."""
    return f"{stack.name}.{stack.namespace}.svc.cluster.local"


# Pods made by the tests themselves ---------------------------------------------------------------


@contextmanager
def scratch_namespace(
    cluster: Cluster, purpose: str, *, labels: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A fresh namespace labelled as made by tests (and with ``labels``), deleted afterwards."""
    name = fresh_namespace(purpose)
    cluster.create_namespace(name, labels=labels)
    try:
        yield name
    finally:
        cluster.delete_namespace(name)


def python_pod(
    name: str,
    image: str,
    code: str,
    *,
    labels: Mapping[str, str] | None = None,
    port: int | None = None,
) -> dict[str, Any]:
    """A pod running ``python3 -c code`` in the server image, as its non-root user, with a
    read-only root filesystem and ``/tmp`` writable, asking for little CPU and memory."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-c", code],
        "workingDir": "/tmp",
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if port is not None:
        container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 1}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {TEST_LABEL: "true", **(labels or {})}},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": SERVER_UID,
                "runAsGroup": SERVER_UID,
            },
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


IDLE = "import time\nwhile True: time.sleep(3600)\n"


def http_server_code(port: int) -> str:
    """A python3 program answering GET on ``port`` (http.server serving the empty /tmp)."""
    return (
        "import functools, http.server\n"
        "handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory='/tmp')\n"
        f"http.server.ThreadingHTTPServer(('0.0.0.0', {port}), handler).serve_forever()\n"
    )


def start_pods(
    cluster: Cluster, namespace: str, pods: Sequence[Mapping[str, Any]], *, timeout: float = 180
) -> None:
    """Create the pods and wait until each is Ready."""
    cluster.apply(pods, namespace=namespace)
    for pod in pods:
        cluster.wait_for_pod_ready(pod["metadata"]["name"], namespace, timeout=timeout)


def pod_ip(cluster: Cluster, namespace: str, name: str) -> str:
    return str(cluster.kubectl_json("get", "pod", name, namespace=namespace)["status"]["podIP"])


# Jobs ---------------------------------------------------------------------------------------------


def wait_for_job_end(
    cluster: Cluster, name: str, namespace: str, *, timeout: float = 300.0
) -> dict[str, Any]:
    """Wait until a Job is Complete or Failed (either is an answer) and return it."""

    def ended() -> dict[str, Any] | None:
        job: dict[str, Any] = cluster.kubectl_json("get", "job", name, namespace=namespace)
        for condition in (job.get("status") or {}).get("conditions") or []:
            if condition.get("type") in ("Complete", "Failed") and condition["status"] == "True":
                return job
        return None

    return cluster.wait_for(
        ended,
        what=f"Job {name} in namespace {namespace} to complete or fail",
        timeout=timeout,
        namespace=namespace,
        selector=f"job-name={name}",
    )


def job_condition(job: Mapping[str, Any]) -> str:
    """``Complete`` or ``Failed`` (the condition that is true), else ``running``."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True":
            return str(condition["type"])
    return "running"


def exit_codes(cluster: Cluster, job: str, namespace: str) -> list[int]:
    """The exit code of every terminated container of the Job's pods."""
    codes = []
    for pod in cluster.pods(namespace, f"job-name={job}"):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated")
            if terminated is not None:
                codes.append(int(terminated["exitCode"]))
    return codes


def poll(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    stack: DeployedStack,
    interval: float = 2.0,
) -> T:
    """``wait_for`` whose timeout message ends with the stack's pods, events and logs."""
    return wait_for(
        condition, timeout=timeout, interval=interval, what=what, describe=stack.diagnostics
    )
