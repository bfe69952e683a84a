"""Release operations on a live cluster, through the Kubernetes API.

- ``switch``: blue-green; point the Service at the other colour (or a given one), once that
  colour's Deployment is fully available.
- ``promote``: canary; the stable Deployment takes the canary's pod template and every replica,
  the canary scales to 0.
- ``abort``: canary; the stable Deployment takes every replica back, the canary scales to 0.

The cluster is a seam: ``Cluster`` holds two objects with the few methods of the ``kubernetes``
client's ``AppsV1Api`` and ``CoreV1Api`` used here, so tests pass fakes. ``connect`` builds the
real ones, importing the client only then. Changes are JSON patches guarded by ``test``
operations, so a concurrent change makes the operation fail instead of being overwritten.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import RolloutError
from ..manifests import naming
from ..manifests.spec import DeploymentSpec
from ..manifests.spec_strategy import BlueGreenStrategy, CanaryStrategy
from .checks import desired_replicas, rollout_problem

__all__ = [
    "AppsApi",
    "Cluster",
    "CoreApi",
    "Outcome",
    "PodApi",
    "RolloutError",
    "abort",
    "connect",
    "live_colour",
    "promote",
    "status",
    "switch",
]

_COLOUR_PATH = "/spec/selector/" + naming.COLOUR.replace("~", "~0").replace("/", "~1")


class AppsApi(Protocol):
    """The part of ``kubernetes.client.AppsV1Api`` used here."""

    def read_namespaced_deployment(self, name: str, namespace: str) -> Any: ...

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any) -> Any: ...


class CoreApi(Protocol):
    """The part of ``kubernetes.client.CoreV1Api`` used here."""

    def read_namespaced_service(self, name: str, namespace: str) -> Any: ...

    def patch_namespaced_service(self, name: str, namespace: str, body: Any) -> Any: ...


class PodApi(Protocol):
    """The part of ``kubernetes.client.CoreV1Api`` that reads pods, their answers through the
    API server's pod proxy, and Secrets (release analysis)."""

    def list_namespaced_pod(self, namespace: str, *, label_selector: str | None = None) -> Any: ...

    def read_namespaced_secret(self, name: str, namespace: str) -> Any: ...

    def connect_get_namespaced_pod_proxy_with_path(
        self,
        name: str,
        namespace: str,
        path: str,
        *,
        _preload_content: bool = True,
        _request_timeout: float | None = None,
        _headers: dict[str, Any] | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class Cluster:
    """The API objects a release operation talks to."""

    apps: AppsApi
    core: CoreApi
    pods: PodApi | None = None  # for analysis; connect() sets it


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """A ``Cluster`` from a kubeconfig (default: ``$KUBECONFIG`` or ``~/.kube/config``), or from
    the pod's service account when running inside a cluster. The client's global default
    configuration is left alone."""
    from kubernetes import client, config

    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, persist_config=False
        )
    except (config.ConfigException, OSError) as exc:
        if kubeconfig is not None or context is not None:
            raise RolloutError(f"cannot use the kubeconfig: {exc}") from exc
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except config.ConfigException:
            raise RolloutError(
                f"no usable kubeconfig ({exc}) and not running inside a cluster; pass "
                "--kubeconfig or set KUBECONFIG"
            ) from exc
        api = client.ApiClient(configuration)
    core = client.CoreV1Api(api)
    return Cluster(apps=client.AppsV1Api(api), core=core, pods=core)


@dataclass(frozen=True)
class Outcome:
    """What an operation did (or found already done)."""

    changed: bool
    message: str


def as_dict(obj: Any) -> dict[str, Any]:
    """An API object as plain data, as ``kubectl get -o json`` prints it."""
    if isinstance(obj, dict):
        return obj
    from kubernetes import client

    data: dict[str, Any] = client.ApiClient().sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return data


def _call(what: str, method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status is None:
            raise
        if status == 404:
            raise RolloutError(f"{what} not found in namespace {kwargs['namespace']}") from exc
        if status in (409, 422):
            raise RolloutError(f"{what} changed during the operation; run it again") from exc
        reason = getattr(exc, "reason", "") or ""
        raise RolloutError(f"{what}: the API server answered {status} {reason}".rstrip()) from exc


def _read_deployment(cluster: Cluster, name: str, namespace: str) -> dict[str, Any]:
    return as_dict(
        _call(
            f"Deployment {name}",
            cluster.apps.read_namespaced_deployment,
            name=name,
            namespace=namespace,
        )
    )


def _patch_deployment(cluster: Cluster, name: str, namespace: str, ops: list[Any]) -> None:
    _call(
        f"Deployment {name}",
        cluster.apps.patch_namespaced_deployment,
        name=name,
        namespace=namespace,
        body=ops,
    )


def _guard(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    version = deployment.get("metadata", {}).get("resourceVersion")
    return (
        [{"op": "test", "path": "/metadata/resourceVersion", "value": version}] if version else []
    )


def _blue_green(spec: DeploymentSpec) -> BlueGreenStrategy:
    if not isinstance(spec.strategy, BlueGreenStrategy):
        raise RolloutError(
            f"switch needs strategy blue-green; {spec.name} uses {spec.strategy.type}"
        )
    return spec.strategy


def _canary(spec: DeploymentSpec, operation: str) -> CanaryStrategy:
    if not isinstance(spec.strategy, CanaryStrategy):
        raise RolloutError(
            f"{operation} needs strategy canary; {spec.name} uses {spec.strategy.type}"
        )
    return spec.strategy


def live_colour(cluster: Cluster, spec: DeploymentSpec) -> str:
    """The colour the API Service selects now."""
    _blue_green(spec)
    name, namespace = naming.names(spec).api, spec.target_namespace
    service = as_dict(
        _call(
            f"Service {name}", cluster.core.read_namespaced_service, name=name, namespace=namespace
        )
    )
    colour = (service.get("spec", {}).get("selector") or {}).get(naming.COLOUR)
    if colour not in ("blue", "green"):
        raise RolloutError(
            f"Service {name} selects no colour ({naming.COLOUR}); was it rendered with strategy "
            "blue-green?"
        )
    return str(colour)


def switch(
    cluster: Cluster, spec: DeploymentSpec, to: str | None = None, *, force: bool = False
) -> Outcome:
    """Point the API Service at colour ``to`` (default: the one not live now)."""
    _blue_green(spec)
    n, namespace = naming.names(spec), spec.target_namespace
    current = live_colour(cluster, spec)
    target = to or ("green" if current == "blue" else "blue")
    if target not in ("blue", "green"):
        raise RolloutError(f"unknown colour '{target}'; use blue or green")
    if target == current:
        return Outcome(False, f"{target} is already live")
    deployment = _read_deployment(cluster, n.api_variant(target), namespace)
    reason = rollout_problem(deployment, need_replicas=True)
    if reason is not None and not force:
        raise RolloutError(
            f"not switching to {target}: Deployment {n.api_variant(target)} is not ready "
            f"({reason}); wait for it, or pass --force"
        )
    ops = [
        {"op": "test", "path": _COLOUR_PATH, "value": current},
        {"op": "replace", "path": _COLOUR_PATH, "value": target},
    ]
    _call(
        f"Service {n.api}",
        cluster.core.patch_namespaced_service,
        name=n.api,
        namespace=namespace,
        body=ops,
    )
    return Outcome(True, f"Service {n.api} now sends traffic to {target} (was {current})")


def promote(cluster: Cluster, spec: DeploymentSpec, *, force: bool = False) -> Outcome:
    """Give the stable Deployment the canary's pod template and all replicas; canary to 0."""
    _canary(spec, "promote")
    n, namespace = naming.names(spec), spec.target_namespace
    stable_name, canary_name = n.api_variant("stable"), n.api_variant("canary")
    stable = _read_deployment(cluster, stable_name, namespace)
    canary = _read_deployment(cluster, canary_name, namespace)
    reason = rollout_problem(canary, need_replicas=True)
    if reason is not None and not force:
        raise RolloutError(
            f"not promoting: Deployment {canary_name} is not ready ({reason}); wait for it, or "
            "pass --force"
        )
    template = copy.deepcopy(canary["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[naming.TRACK] = "stable"
    total = desired_replicas(stable) + desired_replicas(canary)
    _patch_deployment(
        cluster,
        stable_name,
        namespace,
        [
            *_guard(stable),
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/spec/replicas", "value": total},
        ],
    )
    _patch_deployment(
        cluster,
        canary_name,
        namespace,
        [
            *_guard(canary),
            {"op": "replace", "path": "/spec/replicas", "value": 0},
        ],
    )
    return Outcome(
        True,
        f"{stable_name} now runs the canary's pods with {total} replicas; "
        f"{canary_name} scaled to 0",
    )


def abort(cluster: Cluster, spec: DeploymentSpec) -> Outcome:
    """Scale the canary to 0 and give its replicas back to the stable Deployment."""
    _canary(spec, "abort")
    n, namespace = naming.names(spec), spec.target_namespace
    stable_name, canary_name = n.api_variant("stable"), n.api_variant("canary")
    stable = _read_deployment(cluster, stable_name, namespace)
    canary = _read_deployment(cluster, canary_name, namespace)
    moved = desired_replicas(canary)
    if moved == 0:
        return Outcome(False, f"{canary_name} already has 0 replicas")
    total = desired_replicas(stable) + moved
    # Grow stable first, so capacity never drops below what it was.
    _patch_deployment(
        cluster,
        stable_name,
        namespace,
        [
            *_guard(stable),
            {"op": "replace", "path": "/spec/replicas", "value": total},
        ],
    )
    _patch_deployment(
        cluster,
        canary_name,
        namespace,
        [
            *_guard(canary),
            {"op": "replace", "path": "/spec/replicas", "value": 0},
        ],
    )
    return Outcome(True, f"{canary_name} scaled to 0; {stable_name} has {total} replicas")


def status(cluster: Cluster, spec: DeploymentSpec) -> str:
    """A short description of the release state on the cluster."""
    n, namespace = naming.names(spec), spec.target_namespace
    parts: list[str] = []
    variants: list[str | None] = [None]
    if isinstance(spec.strategy, BlueGreenStrategy):
        parts.append(f"live: {live_colour(cluster, spec)}")
        variants = ["blue", "green"]
    elif isinstance(spec.strategy, CanaryStrategy):
        variants = ["stable", "canary"]
    for variant in variants:
        name = n.api_variant(variant)
        deployment = _read_deployment(cluster, name, namespace)
        containers = deployment["spec"]["template"]["spec"]["containers"]
        reason = rollout_problem(deployment, need_replicas=True) or "ready"
        parts.append(
            f"{name}: {desired_replicas(deployment)} replicas, {containers[0]['image']}, {reason}"
        )
    return "\n".join(parts)
