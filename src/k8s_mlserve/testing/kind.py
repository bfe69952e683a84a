"""A kind cluster for tests, created through pytest-kind with the binaries found on PATH."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..kube.cluster import Cluster


@contextmanager
def kind_cluster(
    name: str,
    *,
    node_image: str | None = None,
    keep: bool = False,
    kind_binary: str,
    kubectl_binary: str,
) -> Iterator[Cluster]:
    """Create a kind cluster (or reuse the one of that name) and delete it afterwards.

    pytest-kind drives kind; it is given the binaries found on PATH so that it never downloads
    any. It keeps the kubeconfig in ``.pytest-kind/<name>/kubeconfig`` under the current
    directory. A cluster that existed before is reused and never deleted; ``keep`` keeps a new one.
    """
    from pytest_kind import KindCluster

    listed = subprocess.run(
        [kind_binary, "get", "clusters"], capture_output=True, text=True, timeout=60, check=True
    )
    existed = name in listed.stdout.split()
    # pytest-kind's own place for it, made absolute: the working directory may change later.
    kubeconfig = (Path(".pytest-kind") / name / "kubeconfig").resolve()
    kind = KindCluster(
        name,
        kubeconfig=kubeconfig,
        image=node_image,
        kind_path=Path(kind_binary),
        kubectl_path=Path(kubectl_binary),
    )
    if existed:
        subprocess.run(
            [kind_binary, "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)],
            capture_output=True,
            timeout=60,
            check=True,
        )
    kind.create()
    try:
        yield Cluster(kubeconfig=kubeconfig, kubectl_binary=kubectl_binary, kind_name=name)
    finally:
        if not keep and not existed:
            kind.delete()
