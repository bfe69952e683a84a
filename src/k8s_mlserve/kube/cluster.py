"""A Kubernetes cluster driven through ``kubectl`` with argument lists.

``Cluster`` names a kubeconfig and context (passed to every command with ``--kubeconfig`` and
``--context`` when given; the process environment is left alone) and offers what the CLI's
``apply`` and ``push`` and the test fixtures need: the server version, namespaces, ``apply``,
waits for Jobs, rollouts (Deployments and StatefulSets) and pods that report on timeout what
they waited for together with the namespace's pods, events and logs, and ``port_forward`` (see
``portforward.py``).
``k8s_mlserve.testing.kind`` makes one with kind.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..release.checks import (
    ImageProblem,
    image_problem,
    pod_is_ready,
    rollout_problem,
    statefulset_problem,
)
from .errors import ImageUnavailable, JobFailed, KubectlError
from .portforward import PortForward
from .waiting import StopWaiting, wait_for

if TYPE_CHECKING:
    from ..manifests.versions import KubeVersion

__all__ = [
    "TEST_LABEL",
    "Cluster",
    "ImageUnavailable",
    "JobFailed",
    "KubectlError",
    "job_failure",
    "rollout_problem",
]

T = TypeVar("T")
TEST_LABEL = "k8s-mlserve.io/test"


@dataclass
class Cluster:
    """A cluster reached through ``kubeconfig`` (default: kubectl's own, ``$KUBECONFIG`` or
    ``~/.kube/config``); ``kind_name`` is set for a kind cluster.

    ``pull_grace`` is how long the waits let a pod retry a failing image pull before they give up
    with ``ImageUnavailable``; an image that can never be pulled ends them at once.
    """

    kubeconfig: Path | None = None
    kubectl_binary: str = "kubectl"
    context: str | None = None
    kind_name: str | None = None
    pull_grace: float = 60.0
    _version: KubeVersion | None = field(default=None, init=False, repr=False)

    def command(self, *args: str, namespace: str | None = None) -> list[str]:
        """The kubectl argument list for ``args`` against this cluster."""
        command = [self.kubectl_binary]
        if self.kubeconfig is not None:
            command += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            command += ["--context", self.context]
        if namespace:
            command += ["--namespace", namespace]
        return [*command, *args]

    def kubectl(
        self,
        *args: str,
        namespace: str | None = None,
        input: str | bytes | None = None,
        timeout: float = 120.0,
        check: bool = True,
    ) -> str:
        """Run kubectl and return its standard output; ``KubectlError`` when it fails."""
        command = self.command(*args, namespace=namespace)
        data = input.encode() if isinstance(input, str) else input
        try:
            result = subprocess.run(
                command, input=data, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise KubectlError(f"{shlex.join(command)} did not finish in {timeout:.0f}s") from exc
        except FileNotFoundError as exc:
            raise KubectlError(f"cannot run {self.kubectl_binary}: not found") from exc
        stdout = result.stdout.decode(errors="replace")
        if check and result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise KubectlError(f"{shlex.join(command)} exited with {result.returncode}: {stderr}")
        return stdout

    def kubectl_json(self, *args: str, namespace: str | None = None) -> Any:
        """Run ``kubectl ... -o json`` and parse the answer."""
        return json.loads(self.kubectl(*args, "-o", "json", namespace=namespace))

    def server_version(self) -> KubeVersion:
        """The API server's Kubernetes minor version (asked once)."""
        if self._version is None:
            from ..manifests.versions import KubeVersion

            data = json.loads(self.kubectl("version", "-o", "json"))
            server = data.get("serverVersion")
            if not server:
                raise KubectlError(f"kubectl version did not report a server version: {data}")
            self._version = KubeVersion.parse(server["gitVersion"])
        return self._version

    def apply(self, manifests: Sequence[Mapping[str, Any]], *, namespace: str | None = None) -> str:
        """``kubectl apply`` the objects (sent as one JSON List on standard input)."""
        document = {"apiVersion": "v1", "kind": "List", "items": list(manifests)}
        return self.kubectl("apply", "-f", "-", namespace=namespace, input=json.dumps(document))

    def create_namespace(self, name: str, *, labels: Mapping[str, str] | None = None) -> None:
        """Create a namespace labelled as made by tests (plus ``labels``)."""
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {TEST_LABEL: "true", **(labels or {})}},
        }
        self.kubectl("create", "-f", "-", input=json.dumps(namespace))

    def delete_namespace(self, name: str, *, wait: bool = False, timeout: float = 300.0) -> None:
        """Delete a namespace and everything in it (returns at once unless ``wait``)."""
        self.kubectl(
            "delete",
            "namespace",
            name,
            "--ignore-not-found",
            f"--wait={'true' if wait else 'false'}",
            f"--timeout={int(timeout)}s",
            timeout=timeout + 30,
        )

    # Diagnostics -------------------------------------------------------------------------------

    def events(self, namespace: str, *, limit: int = 40) -> str:
        """The namespace's most recent events, oldest first."""
        out = self.kubectl(
            "get", "events", "--sort-by", ".lastTimestamp", namespace=namespace, check=False
        )
        lines = out.rstrip().splitlines()
        if len(lines) > limit + 1:
            lines = lines[:1] + lines[-limit:]
        return "\n".join(lines) or "(no events)"

    def pods(self, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", "pods"] + (["--selector", selector] if selector else [])
        items: list[dict[str, Any]] = self.kubectl_json(*args, namespace=namespace)["items"]
        return items

    def pod_logs(
        self, namespace: str, selector: str | None = None, *, tail: int = 80, max_pods: int = 8
    ) -> str:
        """The last lines of every container of the matching pods (and of its previous run)."""
        sections: list[str] = []
        for pod in self.pods(namespace, selector)[:max_pods]:
            name = pod["metadata"]["name"]
            statuses = {
                s["name"]: s for s in (pod.get("status") or {}).get("containerStatuses") or []
            }
            for container in pod["spec"]["containers"]:
                cname = container["name"]
                runs = [False]
                if statuses.get(cname, {}).get("restartCount", 0):
                    runs.insert(0, True)
                for previous in runs:
                    args = ["logs", name, "-c", cname, f"--tail={tail}"]
                    if previous:
                        args.append("--previous")
                    out = self.kubectl(*args, namespace=namespace, check=False).rstrip()
                    label = f"{name}/{cname}" + (" (previous run)" if previous else "")
                    sections.append(f"--- logs of {label} ---\n{out or '(empty)'}")
        return "\n".join(sections) or "(no pods)"

    def diagnostics(self, namespace: str, selector: str | None = None) -> str:
        """Pods, events and logs of a namespace, for failure messages."""
        parts = []
        try:
            args = ["get", "pods", "-o", "wide"] + (["--selector", selector] if selector else [])
            parts.append(f"--- pods in {namespace} ---\n{self.kubectl(*args, namespace=namespace)}")
            parts.append(f"--- events in {namespace} ---\n{self.events(namespace)}")
            parts.append(self.pod_logs(namespace, selector))
        except (KubectlError, ValueError) as exc:
            parts.append(f"(could not collect diagnostics: {exc})")
        return "\n".join(parts)

    def node_pressure(self) -> str:
        """The nodes' pressure conditions that are true (disk, memory, pids), one per line."""
        try:
            nodes = self.kubectl_json("get", "nodes")["items"]
        except (KubectlError, ValueError, KeyError) as exc:
            return f"(could not read the nodes: {exc})"
        lines = [
            f"node {node['metadata']['name']}: {c['type']} ({c.get('message', '')})"
            for node in nodes
            for c in (node.get("status") or {}).get("conditions") or []
            if c.get("type", "").endswith("Pressure") and c.get("status") == "True"
        ]
        return "\n".join(lines) or "no node reports disk, memory or PID pressure"

    # Waiting -----------------------------------------------------------------------------------

    def wait_for(
        self,
        condition: Callable[[], T | None],
        *,
        what: str,
        timeout: float,
        namespace: str,
        selector: str | None = None,
        interval: float = 2.0,
    ) -> T:
        """``wait_for`` whose timeout message ends with the namespace's pods, events and logs."""
        return wait_for(
            condition,
            timeout=timeout,
            interval=interval,
            what=what,
            describe=lambda: self.diagnostics(namespace, selector),
        )

    def image_watch(self, namespace: str) -> Callable[[Sequence[Mapping[str, Any]]], None]:
        """A check for wait conditions, called with the awaited pods at each poll: raises
        ``StopWaiting(ImageUnavailable)`` once one cannot get its image for good, or has been
        failing to pull it for ``pull_grace``."""
        first_seen: dict[str, float] = {}

        def check(pods: Sequence[Mapping[str, Any]]) -> None:
            now = time.monotonic()
            stuck: set[str] = set()
            for pod in pods:
                problem = image_problem(pod)
                if problem is None:
                    continue
                stuck.add(problem.pod)
                since = first_seen.setdefault(problem.pod, now)
                if problem.final or now - since >= self.pull_grace:
                    raise StopWaiting(
                        ImageUnavailable(self._image_message(problem, now - since, namespace))
                    )
            for name in set(first_seen) - stuck:
                del first_seen[name]

        return check

    def _image_message(self, problem: ImageProblem, waited: float, namespace: str) -> str:
        retried = "" if problem.final else f", still failing after {waited:.0f}s of retries"
        return (
            f"{problem}{retried}.\n"
            "An image built and loaded locally (the plugin's image loader, `kind load`) is missing "
            "from the node when it was never loaded there or when the kubelet removed it to free "
            "disk space; a registry image needs its name, tag and pull secret checked.\n"
            f"{self.node_pressure()}\n{self.diagnostics(namespace)}"
        )

    def wait_for_job(self, name: str, namespace: str, *, timeout: float = 600.0) -> None:
        """Wait until Job ``name`` succeeded; raise ``JobFailed`` as soon as it has failed."""
        selector = f"job-name={name}"
        check_images = self.image_watch(namespace)

        def done() -> bool:
            job = self.kubectl_json("get", "job", name, namespace=namespace)
            problem = job_failure(job)
            if problem is not None:  # final: no point in waiting longer
                raise StopWaiting(
                    JobFailed(
                        f"Job {name} in {namespace} failed: {problem}\n"
                        f"{self.diagnostics(namespace, selector)}"
                    )
                )
            status = job.get("status") or {}
            wanted = (job.get("spec") or {}).get("completions") or 1
            if int(status.get("succeeded") or 0) >= int(wanted):
                return True
            check_images(self.pods(namespace, selector))
            return False

        self.wait_for(
            done,
            what=f"Job {name} in namespace {namespace} to complete",
            timeout=timeout,
            namespace=namespace,
            selector=selector,
        )

    def wait_for_rollout(
        self, name: str, namespace: str, *, kind: str = "Deployment", timeout: float = 600.0
    ) -> None:
        """Wait until Deployment ``name`` has all its replicas updated and available, or with
        ``kind="StatefulSet"``, StatefulSet ``name`` all its replicas updated and ready."""
        try:
            problem = _ROLLOUT_PROBLEMS[kind]
        except KeyError:
            raise ValueError(
                f"cannot wait for the rollout of a {kind}: only {', '.join(_ROLLOUT_PROBLEMS)}"
            ) from None
        resource = kind.lower()
        workload = self.kubectl_json("get", resource, name, namespace=namespace)
        labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
        check_images = self.image_watch(namespace)

        def done() -> bool:
            workload = self.kubectl_json("get", resource, name, namespace=namespace)
            if problem(workload) is None:
                return True
            check_images(self.pods(namespace, selector))
            return False

        self.wait_for(
            done,
            what=f"{kind} {name} in namespace {namespace} to roll out",
            timeout=timeout,
            namespace=namespace,
            selector=selector,
        )

    def wait_for_pod_ready(self, name: str, namespace: str, *, timeout: float = 300.0) -> None:
        """Wait until pod ``name`` is Ready."""

        check_images = self.image_watch(namespace)

        def ready() -> bool:
            pod = self.kubectl_json("get", "pod", name, namespace=namespace)
            check_images([pod])
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Failed", "Succeeded"):
                raise StopWaiting(
                    KubectlError(
                        f"pod {name} ended ({phase}) before it was ready\n"
                        f"{self.diagnostics(namespace)}"
                    )
                )
            return pod_is_ready(pod)

        self.wait_for(
            ready,
            what=f"pod {name} in namespace {namespace} to be ready",
            timeout=timeout,
            namespace=namespace,
        )

    # Port-forwarding ---------------------------------------------------------------------------

    @contextmanager
    def port_forward(
        self,
        target: str,
        remote_port: int,
        *,
        namespace: str,
        local_port: int | None = None,
        timeout: float = 30.0,
    ) -> Iterator[PortForward]:
        """Forward ``127.0.0.1:<local port>`` to ``target`` (``svc/NAME`` or ``pod/NAME``)."""
        forward = PortForward(self, target, remote_port, namespace=namespace, port=local_port)
        with forward.start(timeout=timeout):
            yield forward


_ROLLOUT_PROBLEMS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "Deployment": rollout_problem,
    "StatefulSet": statefulset_problem,
}


def job_failure(job: Mapping[str, Any]) -> str | None:
    """Why a Job failed for good, or ``None`` while it has not."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            reason = condition.get("reason", "Failed")
            message = condition.get("message", "")
            return f"{reason}: {message}".rstrip(": ")
    return None
