"""The cluster handle against a fake kubectl that answers from a JSON file: argument lists,
version detection, waits that explain their timeouts, and port-forwarding."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve.manifests import KubeVersion
from k8s_mlserve.testing.cluster import (
    Cluster,
    ImageUnavailable,
    JobFailed,
    KubectlError,
    job_failure,
)

FAKE_KUBECTL = """\
import json, socket, sys, time
from pathlib import Path
world = json.loads(Path({world!r}).read_text())
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
args = args[2:]  # --kubeconfig PATH
namespace = None
if args[:1] == ["--namespace"]:
    namespace, args = args[1], args[2:]
if args[:1] == ["version"]:
    print(json.dumps({{"serverVersion": {{"gitVersion": world["version"]}}}}))
elif args[:2] == ["get", "events"]:
    print(world["events"])
elif args[:2] == ["get", "pods"] and "wide" in args:
    print("NAME READY STATUS\\n" + "\\n".join(p["metadata"]["name"] for p in world["pods"]))
elif args[:2] == ["get", "pods"]:
    print(json.dumps({{"items": world["pods"]}}))
elif args[:1] == ["get"]:
    print(json.dumps(world[args[1]]))
elif args[:1] == ["logs"]:
    key = args[1] + "/" + args[3] + ("/previous" if "--previous" in args else "")
    print(world["logs"].get(key, ""))
elif args[:1] == ["port-forward"]:
    if not world.get("forward"):
        print("error: unable to forward port because pod is not running", file=sys.stderr)
        sys.exit(1)
    port = int(args[4].split(":")[0])
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        connection, _ = server.accept()
        connection.recv(4096)
        connection.sendall(
            b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok"
        )
        connection.close()
else:
    print("unexpected " + " ".join(args), file=sys.stderr)
    sys.exit(2)
"""

POD = {
    "metadata": {"name": "api-1"},
    "spec": {"containers": [{"name": "api"}]},
    "status": {"containerStatuses": [{"name": "api", "restartCount": 2}]},
}


class Fake:
    def __init__(self, tmp_path: Path) -> None:
        self.world_file = tmp_path / "world.json"
        self.log = tmp_path / "kubectl.log"
        self.binary = tmp_path / "kubectl"
        self.binary.write_text(
            f"#!{sys.executable}\n"
            + FAKE_KUBECTL.format(world=str(self.world_file), log=str(self.log))
        )
        self.binary.chmod(0o755)
        self.world: dict[str, Any] = {
            "version": "v1.27.3-gke.100",
            "events": "LAST SEEN   TYPE      REASON    OBJECT      MESSAGE\n"
            "5s          Warning   BackOff   pod/api-1   Back-off restarting failed container",
            "pods": [POD],
            "logs": {
                "api-1/api": "loading model\nmodel ready",
                "api-1/api/previous": "error: /models/iris is not a bundle",
            },
        }
        self.save()

    def save(self) -> None:
        self.world_file.write_text(json.dumps(self.world))

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def cluster(self) -> Cluster:
        return Cluster(kubeconfig=Path("/etc/kc"), kubectl_binary=str(self.binary))


@pytest.fixture
def fake(tmp_path: Path) -> Fake:
    return Fake(tmp_path)


def test_commands_are_argument_lists_naming_the_kubeconfig() -> None:
    cluster = Cluster(kubeconfig=Path("/k/config"), kubectl_binary="/bin/kubectl", context="ci")
    assert cluster.command("get", "pods", namespace="ns") == [
        "/bin/kubectl",
        "--kubeconfig",
        "/k/config",
        "--context",
        "ci",
        "--namespace",
        "ns",
        "get",
        "pods",
    ]


def test_the_server_version_is_asked_once(fake: Fake) -> None:
    cluster = fake.cluster()
    assert cluster.server_version() == KubeVersion(1, 27)
    assert cluster.server_version() == KubeVersion(1, 27)
    assert fake.calls() == [["--kubeconfig", "/etc/kc", "version", "-o", "json"]]


def test_a_failing_command_names_itself(fake: Fake) -> None:
    with pytest.raises(KubectlError, match=r"kubectl --kubeconfig /etc/kc scale .* exited with 2"):
        fake.cluster().kubectl("scale", "deployment", "api")


def test_apply_sends_one_list_on_standard_input(tmp_path: Path) -> None:
    received = tmp_path / "stdin.json"
    binary = tmp_path / "kubectl"
    binary.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(received)!r}, 'w').write(sys.stdin.read())\n"
    )
    binary.chmod(0o755)
    cluster = Cluster(kubeconfig=Path("/etc/kc"), kubectl_binary=str(binary))
    cluster.apply([{"kind": "ConfigMap", "metadata": {"name": "a"}}], namespace="ns")
    document = json.loads(received.read_text())
    assert document["kind"] == "List"
    assert document["items"] == [{"kind": "ConfigMap", "metadata": {"name": "a"}}]


def test_a_rollout_timeout_shows_what_was_awaited_with_events_and_logs(fake: Fake) -> None:
    fake.world["deployment"] = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}}},
        "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2},
    }
    fake.save()
    with pytest.raises(TimeoutError) as caught:
        fake.cluster().wait_for_rollout("api", "ns", timeout=1)
    message = str(caught.value)
    assert message.startswith(
        "timed out after 1s waiting for Deployment api in namespace ns to roll out"
    )
    assert "Back-off restarting failed container" in message
    assert "--- logs of api-1/api ---\nloading model\nmodel ready" in message
    assert (
        "--- logs of api-1/api (previous run) ---\nerror: /models/iris is not a bundle" in message
    )
    assert ["--kubeconfig", "/etc/kc", "--namespace", "ns", "get", "pods", "--selector",
            "app=api", "-o", "json"] in fake.calls()  # fmt: skip


def test_a_rolled_out_deployment_is_not_waited_for(fake: Fake) -> None:
    fake.world["deployment"] = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
        },
    }
    fake.save()
    fake.cluster().wait_for_rollout("api", "ns", timeout=5)


def test_a_statefulset_is_waited_for_until_its_pod_is_ready(fake: Fake) -> None:
    fake.world["statefulset"] = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1},
    }
    fake.save()
    with pytest.raises(TimeoutError) as caught:
        fake.cluster().wait_for_rollout("db", "ns", kind="StatefulSet", timeout=1)
    assert str(caught.value).startswith(
        "timed out after 1s waiting for StatefulSet db in namespace ns to roll out"
    )
    assert ["--kubeconfig", "/etc/kc", "--namespace", "ns", "get", "statefulset", "db",
            "-o", "json"] in fake.calls()  # fmt: skip
    assert ["--kubeconfig", "/etc/kc", "--namespace", "ns", "get", "pods", "--selector",
            "app=db", "-o", "json"] in fake.calls()  # fmt: skip
    fake.world["statefulset"]["status"]["readyReplicas"] = 1
    fake.save()
    fake.cluster().wait_for_rollout("db", "ns", kind="StatefulSet", timeout=5)


def test_only_deployments_and_statefulsets_have_rollouts(fake: Fake) -> None:
    with pytest.raises(ValueError, match="only Deployment, StatefulSet"):
        fake.cluster().wait_for_rollout("x", "ns", kind="DaemonSet", timeout=1)


def test_a_failed_job_ends_the_wait_at_once(fake: Fake) -> None:
    fake.world["job"] = {
        "spec": {},
        "status": {
            "failed": 3,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        },
    }
    fake.save()
    with pytest.raises(JobFailed) as caught:  # not the TimeoutError of a wait that ran out
        fake.cluster().wait_for_job("train", "ns", timeout=60)
    message = str(caught.value)
    assert message.startswith(
        "Job train in ns failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    )
    assert "error: /models/iris is not a bundle" in message


def test_a_completed_job_is_done(fake: Fake) -> None:
    fake.world["job"] = {"spec": {"completions": 1}, "status": {"succeeded": 1}}
    fake.save()
    fake.cluster().wait_for_job("train", "ns", timeout=5)


def _stuck_on_image(reason: str, message: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "train-x1"},
        "spec": {"containers": [{"name": "train", "image": "k8s-mlserve-test:0.1.0-abc"}]},
        "status": {
            "containerStatuses": [
                {
                    "name": "train",
                    "image": "k8s-mlserve-test:0.1.0-abc",
                    "restartCount": 0,
                    "state": {"waiting": {"reason": reason, "message": message}},
                }
            ]
        },
    }


DISK_PRESSURE = {
    "items": [
        {
            "metadata": {"name": "node-1"},
            "status": {
                "conditions": [
                    {"type": "MemoryPressure", "status": "False"},
                    {
                        "type": "DiskPressure",
                        "status": "True",
                        "message": "kubelet has disk pressure",
                    },
                ]
            },
        }
    ]
}


def test_an_image_the_node_will_never_have_ends_the_wait_at_once(fake: Fake) -> None:
    fake.world["job"] = {"spec": {}, "status": {"active": 1}}
    fake.world["pods"] = [
        _stuck_on_image("ErrImageNeverPull", "image not present with pull policy Never")
    ]
    fake.world["nodes"] = DISK_PRESSURE
    fake.save()
    with pytest.raises(ImageUnavailable) as caught:
        fake.cluster().wait_for_job("train", "ns", timeout=60)
    message = str(caught.value)
    assert message.startswith(
        "pod train-x1 cannot get image k8s-mlserve-test:0.1.0-abc "
        "(ErrImageNeverPull: image not present with pull policy Never)."
    )
    assert "node node-1: DiskPressure (kubelet has disk pressure)" in message
    assert "--- events in ns ---" in message


def test_a_failing_pull_is_retried_for_the_grace_period(fake: Fake) -> None:
    fake.world["deployment"] = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1},
    }
    fake.world["pods"] = [_stuck_on_image("ImagePullBackOff", "Back-off pulling image")]
    fake.save()
    patient = fake.cluster()
    with pytest.raises(TimeoutError):  # within the grace: the wait runs its course
        patient.wait_for_rollout("api", "ns", timeout=3)

    impatient = fake.cluster()
    impatient.pull_grace = 0
    with pytest.raises(ImageUnavailable) as caught:
        impatient.wait_for_rollout("api", "ns", timeout=60)
    assert "(ImagePullBackOff: Back-off pulling image), still failing after" in str(caught.value)
    assert "could not read the nodes" in str(caught.value)  # the fake kubectl has none


def test_port_forward_listens_locally_and_stops(fake: Fake) -> None:
    fake.world["forward"] = True
    fake.save()
    with fake.cluster().port_forward("svc/api", 8000, namespace="ns") as forward:
        assert httpx.get(forward.url + "/ready").text == "ok"
        process = forward.process
        assert process is not None
    assert process.poll() is not None
    assert [
        "--kubeconfig", "/etc/kc", "--namespace", "ns", "port-forward",
        "--address", "127.0.0.1", "svc/api", f"{forward.port}:8000",
    ] in fake.calls()  # fmt: skip


def test_a_failing_port_forward_says_why(fake: Fake) -> None:
    with (
        pytest.raises(KubectlError, match="unable to forward port because pod is not running"),
        fake.cluster().port_forward("svc/api", 8000, namespace="ns", timeout=10),
    ):
        pass


def test_job_failure_reads_the_status() -> None:
    assert job_failure({"status": {"active": 1}}) is None
    assert (
        job_failure(
            {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "Deadline"}]}}
        )
        == "Deadline"
    )
