"""Tools of the release suite: iris specs per strategy, more model versions trained into a stack's
registry, traffic through the API Service, and the ``k8s-mlserve rollout`` commands.

Traffic goes to the Service itself, never through ``kubectl port-forward`` (which pins one pod and
breaks when that pod goes away during a rollout): from this host to the ClusterIP when it is
reachable (a real cluster's node), else from a pod of the server image inside the namespace
(kind). ``K8S_MLSERVE_E2E_TRAFFIC=host|cluster`` forces one of the two.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from k8s_mlserve.manifests import naming
from k8s_mlserve.manifests.contract import GID, UID
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.release.checks import pod_is_ready, rollout_problem
from k8s_mlserve.testing import StopWaiting, wait_for
from k8s_mlserve.testing.specs import api_service, read_spec_data, service_port
from k8s_mlserve.testing.stack import DeployedStack
from k8s_mlserve.training.bundle import write_bundle
from k8s_mlserve.training.examples import iris

ROOT = Path(__file__).resolve().parents[2]
SENDER = Path(__file__).with_name("releases_sender.py")
API_SELECTOR = f"{naming.COMPONENT}={naming.API}"
SENDER_POD = "release-traffic"
TRAFFIC_SETTING = "K8S_MLSERVE_E2E_TRAFFIC"


def iris_spec(strategy: Mapping[str, Any]) -> dict[str, Any]:
    """The iris example's spec with its strategy replaced (overrides would merge into it)."""
    data, _ = read_spec_data(ROOT / "examples" / "iris" / "deploy.yaml")
    return {**data, "strategy": dict(strategy)}


# Model versions -------------------------------------------------------------------------------


def _without_options(args: Sequence[str], options: set[str], flags: set[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        elif arg not in flags:
            kept.append(arg)
    return kept


def train_versions(stack: DeployedStack, algorithms: Mapping[str, str], timeout: float) -> None:
    """Train ``{version: algorithm}`` into the stack's registry without making them current:
    copies of its rendered training Job under new names, run side by side."""
    (job,) = stack.objects("Job")
    jobs = []
    for version, algorithm in algorithms.items():
        train = copy.deepcopy(job)
        train["metadata"]["name"] = naming.names(stack.spec).training_job(version)
        container = train["spec"]["template"]["spec"]["containers"][0]
        container["args"] = [
            *_without_options(container["args"], {"--version", "--algorithm"}, {"--no-current"}),
            *("--version", version, "--algorithm", algorithm, "--no-current"),
        ]
        jobs.append(train)
    stack.cluster.apply(jobs, namespace=stack.namespace)
    for train in jobs:
        stack.cluster.wait_for_job(train["metadata"]["name"], stack.namespace, timeout=timeout)


def broken_iris_bundle(path: Path, version: str) -> Path:
    """An iris bundle that loads and warms up, then answers the clients' row with a 500.

    Its first steps take the log of each feature's distance above its training mean: defined on
    the warm-up row (the midpoints of the training ranges, all above the means), NaN for the
    setosa every client sends, which the logistic regression behind them refuses. Only
    scikit-learn and numpy objects, so the server image unpickles it as it is.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    trained = iris.train("logreg")
    frame = trained.train_frame
    center = StandardScaler(with_std=False).fit(frame)
    classifier = LogisticRegression(max_iter=500).fit(
        np.log(np.abs(center.transform(frame)) + 1.0), trained.model.predict(frame)
    )
    model = Pipeline(
        [("center", center), ("log", FunctionTransformer(np.log)), ("classify", classifier)]
    )
    model.predict_proba(pd.DataFrame([InputSchema.infer(frame).example_row()]))  # warms up
    try:
        with np.errstate(invalid="ignore"):  # the log of a negative number is the point
            model.predict_proba(pd.DataFrame([iris.EXAMPLE_ROW]))
    except ValueError:
        pass
    else:
        raise AssertionError("the broken iris model answered the clients' row")
    return write_bundle(
        path,
        model,
        frame,
        name=iris.NAME,
        version=version,
        algorithm="broken",
        response=trained.response,
        reference=False,
        onnx=False,
    )


# Pods and release commands --------------------------------------------------------------------


def settle(stack: DeployedStack, timeout: float = 300.0) -> None:
    """Wait until every API Deployment is rolled out and the API pods are exactly the ones they
    want, all ready and none terminating: no old pod is left behind the Service."""

    def settled() -> bool:
        deployments = stack.cluster.kubectl_json(
            "get", "deployments", "--selector", API_SELECTOR, namespace=stack.namespace
        )["items"]
        if any(rollout_problem(d) is not None for d in deployments):
            return False
        wanted = sum(int(d["spec"].get("replicas") or 0) for d in deployments)
        pods = stack.cluster.pods(stack.namespace, API_SELECTOR)
        return len(pods) == wanted and all(pod_is_ready(p, serving=True) for p in pods)

    stack.cluster.wait_for(
        settled,
        what=f"the API pods of {stack.namespace} to settle",
        timeout=timeout,
        namespace=stack.namespace,
        selector=API_SELECTOR,
    )


def rollout(stack: DeployedStack, action: str, *args: str, exit_code: int = 0) -> str:
    """``k8s-mlserve rollout ACTION`` on the stack's spec as deployed; returns what it printed
    once it exited with ``exit_code`` (a gated command exits 1 on a failing verdict)."""
    with tempfile.TemporaryDirectory(prefix="release-spec-") as tmp:
        path = stack.write_spec(Path(tmp) / f"{stack.name}.yaml")
        command = [sys.executable, "-m", "k8s_mlserve", "rollout", action, str(path), *args]
        command += ["--kubeconfig", str(stack.cluster.kubeconfig)]
        if stack.cluster.context:
            command += ["--context", stack.cluster.context]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != exit_code:
        raise AssertionError(
            f"k8s-mlserve rollout {action} exited with {result.returncode}, not {exit_code}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


# Traffic --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One request's outcome: ``status`` is ``None`` when no HTTP answer came back."""

    status: int | None
    version: str | None
    algorithm: str | None
    error: str | None
    ms: float
    at: float = 0.0  # when it arrived here (time.monotonic())

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.version is not None

    def __str__(self) -> str:
        what = f"{self.status} {self.version}" if self.ok else f"{self.status}: {self.error}"
        return f"{what} ({self.ms:.0f} ms)"


def _parse(line: str) -> Answer:
    data = json.loads(line)
    return Answer(
        status=data["status"],
        version=data["version"],
        algorithm=data["algorithm"],
        error=data["error"],
        ms=float(data["ms"]),
        at=time.monotonic(),
    )


def failures(answers: Sequence[Answer]) -> list[Answer]:
    return [a for a in answers if not a.ok]


def versions(answers: Sequence[Answer]) -> Counter[str | None]:
    return Counter(a.version for a in answers)


def summary(answers: Sequence[Answer]) -> str:
    """Counts per version and the first failures, for assertion messages."""
    bad = [(i, a) for i, a in enumerate(answers) if not a.ok]
    lines = [f"{len(answers)} answers: {dict(versions(answers))}, {len(bad)} failed"]
    lines += [f"  #{i}: {a}" for i, a in bad[:10]]
    return "\n".join(lines)


def cut_over(answers: Sequence[Answer], old: str, new: str) -> int:
    """Where the answers move from ``old`` to ``new`` for good: the index of the first ``new``,
    checking that every answer before is ``old`` and every answer from there is ``new``."""
    seen = [a.version for a in answers]
    assert new in seen, f"no answer from {new}\n{summary(answers)}"
    first = seen.index(new)
    assert set(seen[:first]) <= {old}, f"before the first {new}: {Counter(seen[:first])}"
    back = [i for i, v in enumerate(seen[first:], first) if v != new]
    assert not back, f"{old} answered again after {new} had (at {back[:10]})\n{summary(answers)}"
    return first


class Recording:
    """Answers of a sender running in the background, as they arrive."""

    def __init__(self, process: subprocess.Popen[str], stderr: IO[str]) -> None:
        self.process = process
        self.stderr = stderr
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                answer = _parse(line)
            except (ValueError, KeyError):
                self.errors.append(line.rstrip())
                continue
            with self._lock:
                self.answers.append(answer)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def wait_for(self, what: str, condition: Callable[[list[Answer]], bool], timeout: float) -> int:
        """Wait until ``condition`` holds for the answers so far; returns their number."""

        def holds() -> int | None:
            if self.process.poll() is not None:
                raise StopWaiting(AssertionError(f"the sender stopped: {self.log()}"))
            answers = self.snapshot()
            return len(answers) if answers and condition(answers) else None

        return wait_for(holds, timeout=timeout, interval=0.2, what=what)

    def more(self, count: int, timeout: float = 60.0) -> int:
        """Wait for ``count`` more answers; returns the number of answers then."""
        target = len(self.snapshot()) + count
        return self.wait_for(f"{count} more answers", lambda a: len(a) >= target, timeout)

    def log(self) -> str:
        """What the sender printed besides answers."""
        self.stderr.seek(0)
        return "\n".join([*self.errors, self.stderr.read()]).strip()

    def stop(self) -> list[Answer]:
        """Stop the sender (closing its input ends its loop) and return every answer."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()
        return self.snapshot()


class ServiceTraffic:
    """Requests to a stack's API Service by ``releases_sender.py``, run by the Python of
    ``prefix`` (this one, or ``kubectl exec`` of python3 in a pod) against ``host:port``."""

    def __init__(self, stack: DeployedStack, prefix: list[str], host: str, port: int) -> None:
        self.stack = stack
        self.prefix = prefix
        self.host = host
        self.port = port

    def _start(
        self, route: str, count: int, interval: float, stderr: IO[str] | int = subprocess.PIPE
    ) -> subprocess.Popen[str]:
        source = SENDER.read_text(encoding="utf-8")
        args = [self.host, str(self.port), route, str(count), str(interval)]
        process = subprocess.Popen(
            [*self.prefix, "-c", source, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert process.stdin is not None
        request = {"api_key": self.stack.api_key or "", "row": iris.EXAMPLE_ROW}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        return process

    def send(self, count: int, route: str = "predict") -> list[Answer]:
        """``count`` requests one after the other, each on a new connection."""
        process = self._start(route, count, 0.0)
        out, err = process.communicate(timeout=60 + count * 15)
        if process.returncode != 0:
            raise AssertionError(f"the sender exited with {process.returncode}: {err.strip()}")
        return [_parse(line) for line in out.splitlines() if line.strip()]

    def served(self, count: int = 20) -> Counter[str | None]:
        """How many of ``count`` predictions each version answered (all must succeed)."""
        answers = self.send(count)
        assert not failures(answers), summary(answers)
        return versions(answers)

    def model(self) -> tuple[str | None, str | None]:
        """``/version`` of one pod behind the Service: (version, algorithm)."""
        (answer,) = self.send(1, route="version")
        assert answer.ok, answer
        return answer.version, answer.algorithm

    @contextmanager
    def steady(self, interval: float = 0.02) -> Iterator[Recording]:
        """Predictions sent continuously in the background while the block runs."""
        stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by Recording.stop)
        recording = Recording(self._start("predict", 0, interval, stderr), stderr)
        try:
            recording.more(5)
            yield recording
        finally:
            recording.stop()


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3.0):
            return True
    except OSError:
        return False


def _sender_pod(stack: DeployedStack) -> dict[str, Any]:
    image = stack.spec.image
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": SENDER_POD, "labels": {"app.kubernetes.io/name": SENDER_POD}},
        "spec": {
            "containers": [
                {
                    "name": "sender",
                    "image": image.reference(),
                    "imagePullPolicy": image.pull_policy,
                    "command": ["sleep", "3600"],
                    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": GID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
        },
    }


@contextmanager
def service_traffic(stack: DeployedStack) -> Iterator[ServiceTraffic]:
    """Traffic to the stack's API Service, sent from this host or from a pod (module docstring)."""
    service = api_service(stack.manifests)
    name, port = service["metadata"]["name"], service_port(service)
    live = stack.cluster.kubectl_json("get", "service", name, namespace=stack.namespace)
    cluster_ip = live["spec"]["clusterIP"]
    where = os.environ.get(TRAFFIC_SETTING, "auto")
    if where == "host" or (where == "auto" and _reachable(cluster_ip, port)):
        yield ServiceTraffic(stack, [sys.executable], cluster_ip, port)
        return
    stack.cluster.apply([_sender_pod(stack)], namespace=stack.namespace)
    try:
        stack.cluster.wait_for_pod_ready(SENDER_POD, stack.namespace, timeout=120)
        prefix = stack.cluster.command(
            "exec", "-i", SENDER_POD, "--", "python3", namespace=stack.namespace
        )
        yield ServiceTraffic(stack, prefix, f"{name}.{stack.namespace}.svc.cluster.local", port)
    finally:
        stack.kubectl("delete", "pod", SENDER_POD, "--ignore-not-found", "--wait=false")
