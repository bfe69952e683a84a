"""Caveats: spec choices that render valid objects which work on some clusters only.

``k8s-mlserve manifests`` and ``k8s-mlserve apply`` print them as warnings. None is an error:
each choice is right somewhere (one node, an ingress controller inside the namespace).
"""

from __future__ import annotations

from .naming import names
from .spec import Claim, DeploymentSpec
from .storage import reads_models_claim
from .strategies import api_variants


def most_api_pods(spec: DeploymentSpec) -> int:
    """The most API pods the spec runs at once, rolling updates aside (every Deployment of the
    strategy, at its autoscaler's maximum when it has one)."""
    autoscaling = spec.autoscaling
    return sum(
        v.replicas if v.replicas is not None else autoscaling.max_replicas if autoscaling else 1
        for v in api_variants(spec)
    )


def _shared_read_write_once(spec: DeploymentSpec) -> str | None:
    claims: list[tuple[str, Claim, str]] = [("logs", spec.storage.logs, names(spec).logs_claim)]
    if reads_models_claim(spec):
        claims.insert(0, ("models", spec.storage.models, names(spec).models_claim))
    # An existing claim's access mode is its own, unknown here.
    shared = [
        (field, name)
        for field, claim, name in claims
        if claim.existing_claim is None and claim.access_mode == "ReadWriteOnce"
    ]
    pods = most_api_pods(spec)
    if pods < 2 or not shared:
        return None
    claim_names = " and ".join(name for _, name in shared)
    fields = " and ".join(f"storage.{field}.access_mode" for field, _ in shared)
    return (
        f"up to {pods} API pods mount the ReadWriteOnce claim(s) {claim_names}: a "
        "ReadWriteOnce volume attaches to one node, so these pods only all start when they are "
        "scheduled on the same node (a single-node cluster such as kind or minikube). On several "
        f"nodes, set {fields} to ReadWriteMany, with a storage class that provides it"
    )


def _ingress_blocked(spec: DeploymentSpec) -> str | None:
    ingress = spec.ingress
    policy = spec.network_policy
    if ingress is None or ingress.controller is not None or not policy.enabled:
        return None
    if any(peer.other_namespaces for peer in policy.allow_from):
        return None
    return (
        f"the API NetworkPolicy admits only pods of namespace {spec.target_namespace}, so an "
        "ingress controller running in a namespace of its own (as ingress-nginx does) cannot "
        "reach the API through the Ingress; name it in ingress.controller, e.g. "
        "{namespace: ingress-nginx}"
    )


def caveats(spec: DeploymentSpec) -> list[str]:
    """What may keep the rendered objects from working on some clusters, one sentence each."""
    found = [_shared_read_write_once(spec), _ingress_blocked(spec)]
    return [c for c in found if c is not None]
