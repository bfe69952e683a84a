"""push and apply against a recording stand-in for kubectl."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.delivery.apply import apply_spec, live_secret_values
from k8s_mlserve.delivery.push import RECEIVE, _archive, _reason, push_bundle
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.kube.cluster import Cluster
from k8s_mlserve.manifests import KubeVersion, parse_spec
from k8s_mlserve.model.registry import BundleRegistry

from ..toy_model import write_toy_bundle

SPEC = {"name": "toy", "image": {"repository": "toy", "tag": "1.0.0"}}


class FakeCluster(Cluster):
    """Answers kubectl calls from a table; records them."""

    def __init__(self, secrets: dict[str, dict[str, str]] | None = None) -> None:
        super().__init__(kubectl_binary="kubectl")
        self.calls: list[tuple[tuple[str, ...], Any]] = []
        self.secrets = secrets or {}
        self.applied: list[dict[str, Any]] = []

    def kubectl(
        self,
        *args: str,
        namespace: str | None = None,
        input: Any = None,
        timeout: float = 120.0,
        check: bool = True,
    ) -> str:
        self.calls.append((args, input))
        if args[:2] == ("get", "secret"):
            data = self.secrets.get(args[2])
            if data is None:
                return ""
            encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            return json.dumps({"data": encoded})
        if args[0] == "apply":
            self.applied = json.loads(input)["items"]
        if args[0] == "version":
            return json.dumps({"serverVersion": {"gitVersion": "v1.20.2"}})
        return ""


def test_apply_keeps_the_generated_values_the_cluster_holds() -> None:
    spec = parse_spec(SPEC)
    first = FakeCluster()
    applied = apply_spec(first, spec)
    secret = next(m for m in first.applied if m["kind"] == "Secret")
    values = secret["stringData"]
    assert applied.generated == 2
    assert applied.kept == 0
    assert applied.spec.kubernetes_version == KubeVersion(1, 20), "rendered for the cluster"
    assert any(m["apiVersion"] == "policy/v1beta1" for m in first.applied)

    again = FakeCluster({secret["metadata"]["name"]: dict(values)})
    reapplied = apply_spec(again, spec)
    assert reapplied.kept == 2
    assert reapplied.generated == 0
    assert next(m for m in again.applied if m["kind"] == "Secret")["stringData"] == values
    assert live_secret_values(again, spec) == {secret["metadata"]["name"]: values}
    printed = reapplied.output + "".join(str(c[0]) for c in again.calls)
    assert all(v not in printed for v in values.values()), "no secret value on a command line"


def test_push_streams_the_bundle_and_publishes_it(tmp_path: Path) -> None:
    bundle = write_toy_bundle(tmp_path / "b", version="v7")
    cluster = FakeCluster()
    calls: list[tuple[str, ...]] = []

    def kubectl(*args: str, **kwargs: Any) -> str:
        calls.append(args)
        if args[0] == "exec":
            # run the in-pod script here, on a local "claim"
            import subprocess
            import sys

            registry = tmp_path / "claim" / "toy"
            result = subprocess.run(
                [sys.executable, "-c", RECEIVE, str(registry), args[-1]],
                input=kwargs["input"],
                capture_output=True,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            return str(result.stdout.decode())
        if args[0] == "get":
            return json.dumps(
                {
                    "status": {
                        "phase": "Running",
                        "conditions": [{"type": "Ready", "status": "True"}],
                    }
                }
            )
        return ""

    cluster.kubectl = kubectl  # type: ignore[method-assign]
    pushed = push_bundle(cluster, parse_spec(SPEC), bundle)
    assert pushed.version == "v7"
    assert pushed.claim == "toy-models"
    assert BundleRegistry(tmp_path / "claim" / "toy").current_version() == "v7"
    assert any(c[:2] == ("delete", "pod") for c in calls), "the pod is removed"


def test_push_refuses_what_it_cannot_deliver(tmp_path: Path) -> None:
    cluster = FakeCluster()
    with pytest.raises(ConfigurationError, match="not a model bundle"):
        push_bundle(cluster, parse_spec(SPEC), tmp_path)
    baked = parse_spec({**SPEC, "model": {"source": "image"}})
    with pytest.raises(ConfigurationError, match=r"set model\.source: claim"):
        push_bundle(cluster, baked, write_toy_bundle(tmp_path / "b"))
    assert cluster.calls == [], "nothing was sent to the cluster"


def test_archive_holds_only_the_bundle_files_and_errors_read_well(tmp_path: Path) -> None:
    bundle = write_toy_bundle(tmp_path / "b")
    with tarfile.open(fileobj=io.BytesIO(_archive(bundle))) as archive:
        names = archive.getnames()
    assert all(n.startswith("bundle/") for n in names)
    assert "bundle/model.joblib" in names
    message = 'kubectl exec exited with 3: {"error": "version v1 already exists in /models/toy"}'
    assert _reason(message) == "version v1 already exists in /models/toy"
