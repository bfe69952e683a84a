"""Copying local files into a stack's models claim: what pods need but cannot download.

Pods may have no network access, so an example's dataset (or a model registry, for a spec
without a training Job) is copied in before the workloads start; ``k8s-mlserve push`` publishes a
bundle the same way. A short-lived pod runs
the stack's own image as its non-root user with the claim mounted; a tar archive built here is
streamed to ``python`` in that pod through ``kubectl exec -i`` (the image has Python, not
necessarily ``tar``), and the pod is deleted.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..manifests.contract import GID, MODELS_MOUNT, UID
from .cluster import Cluster

SEED_POD = "mlserve-seed"
# Runs in the pod: extracts the archive read from standard input into the directory argv[1],
# with the "data" filter where this Python has it.
EXTRACT = (
    "import sys, tarfile\n"
    "archive = tarfile.open(fileobj=sys.stdin.buffer, mode='r|')\n"
    "options = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}\n"
    "archive.extractall(sys.argv[1], **options)\n"
)


def archive(files: Mapping[str, Path]) -> bytes:
    """A tar archive of files and directories, each under its given name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, path in sorted(files.items()):
            tar.add(path, arcname=name, recursive=True)
    return buffer.getvalue()


def seed_pod(image: str, pull_policy: str, claim: str, *, name: str = SEED_POD) -> dict[str, Any]:
    """A pod that idles with ``claim`` mounted at the models path, as the image's user."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": "seed"}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": GID,
                "fsGroup": GID,
            },
            "containers": [
                {
                    "name": "seed",
                    "image": image,
                    "imagePullPolicy": pull_policy,
                    "command": ["python", "-c", "import time; time.sleep(3600)"],
                    "volumeMounts": [{"name": "models", "mountPath": MODELS_MOUNT}],
                }
            ],
            "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }


@contextmanager
def claim_pod(
    cluster: Cluster,
    namespace: str,
    *,
    image: str,
    pull_policy: str,
    claim: str,
    name: str = SEED_POD,
    timeout: float = 600.0,
) -> Iterator[str]:
    """A ready pod (``seed_pod``) with ``claim`` mounted, deleted on leaving; yields its name."""
    cluster.apply([seed_pod(image, pull_policy, claim, name=name)], namespace=namespace)
    try:
        cluster.wait_for_pod_ready(name, namespace, timeout=timeout)
        yield name
    finally:
        cluster.kubectl(
            "delete",
            "pod",
            name,
            "--ignore-not-found",
            "--wait=true",
            namespace=namespace,
            check=False,
            timeout=120,
        )


def copy_to_claim(
    cluster: Cluster,
    namespace: str,
    files: Mapping[str, Path],
    *,
    image: str,
    pull_policy: str,
    claim: str,
    timeout: float = 600.0,
) -> None:
    """Copy ``files`` (name under the models path -> local path) into ``claim``."""
    with claim_pod(
        cluster, namespace, image=image, pull_policy=pull_policy, claim=claim, timeout=timeout
    ) as pod:
        cluster.kubectl(
            "exec",
            "-i",
            pod,
            "--",
            "python",
            "-c",
            EXTRACT,
            MODELS_MOUNT,
            namespace=namespace,
            input=archive(files),
            timeout=300,
        )
