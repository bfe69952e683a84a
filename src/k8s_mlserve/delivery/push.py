"""``push``: publish a local bundle into a deployment's models claim as a new registry version.

A short-lived pod of the deployment's own image mounts the claim as the server's user; the bundle
travels as a tar stream through ``kubectl exec -i`` into a staging directory beside the registry's
versions, its sha256 is checked against its metadata, and ``BundleRegistry.publish`` renames it in
and moves ``current``: the API pods, which follow ``current``, switch to it without a restart.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from ..kube.claims import claim_pod
from ..kube.cluster import Cluster
from ..kube.errors import KubectlError
from ..manifests import DeploymentSpec
from ..manifests.contract import MODELS_MOUNT
from ..manifests.naming import names
from ..manifests.storage import claim_name
from ..model.bundle import is_bundle, read_metadata
from ..model.registry import BundleRegistry

# Runs in the pod: argv = registry directory, version. The archive on standard input holds the
# bundle under "bundle/". Prints one JSON line: the result on stdout, or an error on stderr.
RECEIVE = """\
import hashlib, json, shutil, sys, tarfile
from pathlib import Path
from k8s_mlserve.model.registry import BundleRegistry
registry, version = BundleRegistry(sys.argv[1]), sys.argv[2]
if registry.version_path(version).exists():
    print(json.dumps({"error": f"version {version} already exists in {registry.root}; "
                               "pass another version"}), file=sys.stderr)
    sys.exit(3)
staging = registry.staging_dir()
try:
    archive = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
    options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    archive.extractall(staging, **options)
    bundle = staging / "bundle"
    meta = json.loads((bundle / "metadata.json").read_text())
    digest = hashlib.sha256((bundle / "model.joblib").read_bytes()).hexdigest()
    if digest != meta["sha256"]:
        print(json.dumps({"error": f"model.joblib arrived with sha256 {digest}, "
                                   f"metadata records {meta['sha256']}"}), file=sys.stderr)
        sys.exit(4)
    registry.publish(bundle, version)
    print(json.dumps({"version": version, "path": str(registry.version_path(version))}))
finally:
    shutil.rmtree(staging, ignore_errors=True)
"""


@dataclass(frozen=True)
class Pushed:
    """Where a pushed bundle went."""

    namespace: str
    claim: str
    registry: str
    version: str


def _archive(bundle: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(bundle.iterdir()):
            if path.is_file():
                tar.add(path, arcname=f"bundle/{path.name}")
    return buffer.getvalue()


def push_bundle(
    cluster: Cluster,
    spec: DeploymentSpec,
    bundle: Path,
    *,
    version: str | None = None,
    timeout: float = 300.0,
) -> Pushed:
    """Publish ``bundle`` into the models claim of ``spec``'s deployment (see the module doc)."""
    if spec.model_source != "claim":
        raise ConfigurationError(
            f"{spec.name} reads its model from {spec.model_source}, not from the models claim; "
            "set model.source: claim to deliver models with push"
        )
    if not is_bundle(bundle):
        raise ConfigurationError(
            f"{bundle} is not a model bundle (metadata.json + model.joblib); push one version"
        )
    metadata = read_metadata(bundle)
    chosen = version or metadata.version
    BundleRegistry(MODELS_MOUNT).version_path(chosen)  # a clear error for a bad version name
    namespace = spec.target_namespace
    claim = claim_name(spec.storage.models, names(spec).models_claim)
    registry = f"{MODELS_MOUNT}/{spec.model_name}"
    pod = f"{spec.name}-push-{secrets.token_hex(3)}"
    with claim_pod(
        cluster,
        namespace,
        image=spec.image.reference(),
        pull_policy=spec.image.pull_policy,
        claim=claim,
        name=pod,
        timeout=timeout,
    ) as name:
        try:
            out = cluster.kubectl(
                "exec",
                "-i",
                name,
                "--",
                "python",
                "-c",
                RECEIVE,
                registry,
                chosen,
                namespace=namespace,
                input=_archive(bundle),
                timeout=timeout,
            )
        except KubectlError as exc:
            raise ConfigurationError(f"pushing {bundle} failed: {_reason(str(exc))}") from exc
    answer = json.loads(out.strip().splitlines()[-1])
    return Pushed(namespace=namespace, claim=claim, registry=registry, version=answer["version"])


def _reason(message: str) -> str:
    for line in reversed(message.splitlines()):
        if '"error"' in line:
            try:
                return str(json.loads(line[line.index("{") :])["error"])
            except (ValueError, KeyError):
                break
    return message
