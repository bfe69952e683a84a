"""Copying local files into a stack's models claim: what pods need but cannot download.

Pods of a test cluster may have no network access, so an example's dataset (or a model registry,
for a spec without a training Job) is copied in before the workloads start. A short-lived pod runs
the stack's own image as its non-root user with the claim mounted; a tar archive built here is
streamed to ``python`` in that pod through ``kubectl exec -i`` (the image has Python, not
necessarily ``tar``), and the pod is deleted.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
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


def seed_pod(image: str, pull_policy: str, claim: str) -> dict[str, Any]:
    """A pod that idles with ``claim`` mounted at the models path, as the image's user."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": SEED_POD, "labels": {"app.kubernetes.io/component": "seed"}},
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
    cluster.apply([seed_pod(image, pull_policy, claim)], namespace=namespace)
    try:
        cluster.wait_for_pod_ready(SEED_POD, namespace, timeout=timeout)
        cluster.kubectl(
            "exec",
            "-i",
            SEED_POD,
            "--",
            "python",
            "-c",
            EXTRACT,
            MODELS_MOUNT,
            namespace=namespace,
            input=archive(files),
            timeout=300,
        )
    finally:
        cluster.kubectl(
            "delete",
            "pod",
            SEED_POD,
            "--ignore-not-found",
            "--wait=true",
            namespace=namespace,
            check=False,
            timeout=120,
        )
