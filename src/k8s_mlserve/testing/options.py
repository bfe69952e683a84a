"""The plugin's settings: each command-line option has a ``K8S_MLSERVE_*`` variable as default,
so that CI can configure a plain ``pytest`` run; the command line wins.

| option | variable | meaning |
| --- | --- | --- |
| ``--kubeconfig PATH`` | ``K8S_MLSERVE_KUBECONFIG`` | an existing cluster |
| ``--kind`` | ``K8S_MLSERVE_KIND`` | create a cluster with kind |
| ``--kind-cluster-name`` | ``K8S_MLSERVE_KIND_CLUSTER_NAME`` | default ``k8s-mlserve`` |
| ``--kind-node-image`` | ``K8S_MLSERVE_KIND_NODE_IMAGE`` | e.g. ``kindest/node:v1.20.15`` |
| ``--keep-cluster`` | ``K8S_MLSERVE_KEEP_CLUSTER`` | do not delete the kind cluster |
| ``--kubectl`` | ``K8S_MLSERVE_KUBECTL`` | the kubectl to run (default: on PATH) |
| ``--image-loader`` | ``K8S_MLSERVE_IMAGE_LOADER`` | ``kind``, ``kind:NAME``, ``none``, a command |
| ``--keep-namespace`` | ``K8S_MLSERVE_KEEP_NAMESPACE`` | keep stacks' namespaces |
| ``--base-image`` | ``K8S_MLSERVE_BASE_IMAGE`` | base of the built server image |
| ``--mlserve-image`` | ``K8S_MLSERVE_IMAGE`` | use this image instead of building one |
| ``--mlserve-image-extras`` | ``K8S_MLSERVE_IMAGE_EXTRAS`` | e.g. ``[mlflow]`` |
| ``--mlserve-wheel`` | ``K8S_MLSERVE_WHEEL`` | k8s-mlserve wheel or source tree for images |
| ``--mlserve-mlflow-image`` | ``K8S_MLSERVE_MLFLOW_IMAGE`` | MLflow image, or ``build`` (default) |
| ``--mlserve-postgres-image`` | ``K8S_MLSERVE_POSTGRES_IMAGE`` | ``postgres:16``, or ``build`` |
| ``--mlserve-model`` | ``K8S_MLSERVE_MODEL`` | the bundle or registry to serve |
| ``--mlserve-data-dir`` | ``K8S_MLSERVE_DATA_DIR`` | where the examples' CSV files are |
| ``--mlserve-mlflow-backend`` | ``K8S_MLSERVE_MLFLOW_BACKEND`` | e.g. ``postgresql://...`` |
| ``--mlserve-deploy-timeout`` | ``K8S_MLSERVE_DEPLOY_TIMEOUT`` | seconds per wait (600) |

The plain ``KUBECONFIG`` variable is deliberately not read: a developer's current context must
never receive test deployments unless it is named on purpose.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .loader import CommandLoader

DEFAULT_KIND_CLUSTER = "k8s-mlserve"
BUILD = "build"  # build the image from the Dockerfile shipped with k8s-mlserve
OFFICIAL_POSTGRES = "postgres:16"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

# dest -> environment variable
ENV = {
    "kubeconfig": "K8S_MLSERVE_KUBECONFIG",
    "mlserve_kind": "K8S_MLSERVE_KIND",
    "kind_cluster_name": "K8S_MLSERVE_KIND_CLUSTER_NAME",
    "kind_node_image": "K8S_MLSERVE_KIND_NODE_IMAGE",
    "keep_cluster": "K8S_MLSERVE_KEEP_CLUSTER",
    "mlserve_kubectl": "K8S_MLSERVE_KUBECTL",
    "image_loader": "K8S_MLSERVE_IMAGE_LOADER",
    "keep_namespace": "K8S_MLSERVE_KEEP_NAMESPACE",
    "base_image": "K8S_MLSERVE_BASE_IMAGE",
    "mlserve_image": "K8S_MLSERVE_IMAGE",
    "mlserve_image_extras": "K8S_MLSERVE_IMAGE_EXTRAS",
    "mlserve_wheel": "K8S_MLSERVE_WHEEL",
    "mlserve_mlflow_image": "K8S_MLSERVE_MLFLOW_IMAGE",
    "mlserve_postgres_image": "K8S_MLSERVE_POSTGRES_IMAGE",
    "mlserve_model": "K8S_MLSERVE_MODEL",
    "mlserve_data_dir": "K8S_MLSERVE_DATA_DIR",
    "mlserve_mlflow_backend": "K8S_MLSERVE_MLFLOW_BACKEND",
    "mlserve_deploy_timeout": "K8S_MLSERVE_DEPLOY_TIMEOUT",
}


@dataclass(frozen=True)
class MlserveOptions:
    """The resolved settings of the k8s-mlserve plugin."""

    kubeconfig: Path | None = None
    kind: bool = False
    kind_cluster_name: str = DEFAULT_KIND_CLUSTER
    kind_node_image: str | None = None
    keep_cluster: bool = False
    kubectl: str = "kubectl"
    image_loader: str | None = None
    keep_namespace: bool = False
    base_image: str | None = None
    image: str | None = None
    image_extras: str = ""
    wheel: Path | None = None
    mlflow_image: str = BUILD
    postgres_image: str = OFFICIAL_POSTGRES
    model: Path | None = None
    data_dir: Path | None = None
    mlflow_backend: str | None = None
    deploy_timeout: float = 600.0

    @property
    def cluster_configured(self) -> bool:
        return self.kubeconfig is not None or self.kind

    @property
    def needs_docker(self) -> bool:
        """Whether the cluster fixtures use Docker: kind runs on it, images are built with it, and
        loaders read images from it. (MLflow stack images set to ``build`` are checked when a
        test's stack needs them: ``mlserve_stack_images``.)"""
        loader = (self.image_loader or "").strip()
        return self.kind or self.image is None or loader not in ("", "none")

    def describe(self) -> str:
        """One line for the test session's header."""
        if self.kind:
            cluster = f"kind cluster {self.kind_cluster_name}"
            if self.kind_node_image:
                cluster += f" ({self.kind_node_image})"
        elif self.kubeconfig is not None:
            cluster = f"kubeconfig {self.kubeconfig}"
        else:
            cluster = "none (e2e tests skip)"
        loader = self.image_loader or ("kind" if self.kind else "none")
        return f"k8s-mlserve: cluster: {cluster}; image loader: {loader}"


def _bool(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise pytest.UsageError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {value!r}")


def options_from_config(
    config: pytest.Config, environ: Mapping[str, str] | None = None
) -> MlserveOptions:
    """Read the options, falling back to the environment, and check that they fit together."""
    env = os.environ if environ is None else environ

    def raw(dest: str) -> Any:
        value = config.getoption(dest, default=None)
        if value in (None, False, ""):
            variable = ENV[dest]
            return env.get(variable) or None
        return value

    def flag(dest: str) -> bool:
        value = raw(dest)
        return _bool(value, ENV[dest]) if isinstance(value, str) else bool(value)

    def path(dest: str) -> Path | None:
        value = raw(dest)
        return Path(value).expanduser() if value else None

    timeout_text = raw("mlserve_deploy_timeout")
    try:
        timeout = float(timeout_text) if timeout_text is not None else 600.0
    except ValueError:
        raise pytest.UsageError(
            f"--mlserve-deploy-timeout must be a number of seconds, got {timeout_text!r}"
        ) from None
    options = MlserveOptions(
        kubeconfig=path("kubeconfig"),
        kind=flag("mlserve_kind"),
        kind_cluster_name=raw("kind_cluster_name") or DEFAULT_KIND_CLUSTER,
        kind_node_image=raw("kind_node_image"),
        keep_cluster=flag("keep_cluster"),
        kubectl=raw("mlserve_kubectl") or "kubectl",
        image_loader=raw("image_loader"),
        keep_namespace=flag("keep_namespace"),
        base_image=raw("base_image"),
        image=raw("mlserve_image"),
        image_extras=raw("mlserve_image_extras") or "",
        wheel=path("mlserve_wheel"),
        mlflow_image=raw("mlserve_mlflow_image") or BUILD,
        postgres_image=raw("mlserve_postgres_image") or OFFICIAL_POSTGRES,
        model=path("mlserve_model"),
        data_dir=path("mlserve_data_dir"),
        mlflow_backend=raw("mlserve_mlflow_backend"),
        deploy_timeout=timeout,
    )
    check(options)
    return options


def check(options: MlserveOptions) -> None:
    """Refuse settings that contradict each other, naming the options involved."""
    if options.kind and options.kubeconfig is not None:
        raise pytest.UsageError(
            "--kind creates a cluster and --kubeconfig names an existing one: pass only one "
            "(check K8S_MLSERVE_KIND and K8S_MLSERVE_KUBECONFIG too)"
        )
    loader = (options.image_loader or "").strip()
    if loader == "kind" and not options.kind:
        raise pytest.UsageError(
            "--image-loader kind needs --kind; for another kind cluster use kind:NAME, otherwise "
            "a command such as 'load-image.sh {image}', or none"
        )
    if loader and loader not in ("none", "kind") and not loader.startswith("kind:"):
        try:
            CommandLoader.parse(loader)
        except ValueError as exc:
            raise pytest.UsageError(f"--image-loader: {exc}") from None
    if options.deploy_timeout <= 0:
        raise pytest.UsageError("--mlserve-deploy-timeout must be positive")


def cluster_problem(
    options: MlserveOptions,
    *,
    which: Callable[[str], str | None] = shutil.which,
    docker_problem: Callable[[], str | None] | None = None,
) -> str | None:
    """Why cluster tests cannot run here, in one line, or ``None`` when they can."""
    kind_found = which("kind") is not None
    if not options.cluster_configured:
        hint = "" if kind_found else " (kind not found on PATH)"
        return (
            "no cluster configured: pass --kubeconfig PATH (or set K8S_MLSERVE_KUBECONFIG) for an "
            f"existing cluster, or --kind to create one with kind{hint}"
        )
    missing: list[str] = []
    if options.kind and not kind_found:
        missing.append("kind not found on PATH (needed by --kind)")
    if which(options.kubectl) is None:
        missing.append(f"{options.kubectl} not found on PATH")
    if options.needs_docker:
        if docker_problem is None:
            from .images import docker_problem as probe

            docker_problem = probe
        problem = docker_problem()
        if problem:
            missing.append(problem)
    if missing:
        return "cluster tests cannot run: " + "; ".join(missing)
    return None


def find_executable(name: str) -> str | None:
    """``name`` as found on PATH (or as given, when it is a path to an executable)."""
    return shutil.which(name)
