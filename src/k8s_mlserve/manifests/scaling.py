"""Policies over the API pods: HorizontalPodAutoscalers and the PodDisruptionBudget.

Both kinds are built with the client's newest models; on older targets only ``apiVersion``
changes (autoscaling/v2beta2, policy/v1beta1 have the same shape for the fields used here).
"""

from __future__ import annotations

from kubernetes import client

from . import naming
from .naming import labels, names
from .spec import DeploymentSpec
from .strategies import api_variants
from .versions import api_version, require


def _metric(resource: str, utilization: int) -> client.V2MetricSpec:
    return client.V2MetricSpec(
        type="Resource",
        resource=client.V2ResourceMetricSource(
            name=resource,
            target=client.V2MetricTarget(type="Utilization", average_utilization=utilization),
        ),
    )


def build_autoscalers(spec: DeploymentSpec) -> list[client.V2HorizontalPodAutoscaler]:
    """One autoscaler per autoscaled API Deployment (each colour for blue-green)."""
    scaling = spec.autoscaling
    if scaling is None:
        return []
    metrics = []
    if scaling.cpu_utilization is not None:
        metrics.append(_metric("cpu", scaling.cpu_utilization))
    if scaling.memory_utilization is not None:
        metrics.append(_metric("memory", scaling.memory_utilization))
    out = []
    for variant in api_variants(spec):
        if not variant.autoscaled:
            continue
        target = variant.deployment_name(spec)
        out.append(
            client.V2HorizontalPodAutoscaler(
                api_version=api_version("HorizontalPodAutoscaler", spec.kubernetes_version),
                kind="HorizontalPodAutoscaler",
                metadata=client.V1ObjectMeta(
                    name=target, namespace=spec.target_namespace, labels=labels(spec, naming.API)
                ),
                spec=client.V2HorizontalPodAutoscalerSpec(
                    scale_target_ref=client.V2CrossVersionObjectReference(
                        api_version=api_version("Deployment", spec.kubernetes_version),
                        kind="Deployment",
                        name=target,
                    ),
                    min_replicas=scaling.min_replicas,
                    max_replicas=scaling.max_replicas,
                    metrics=metrics,
                    behavior=client.V2HorizontalPodAutoscalerBehavior(
                        scale_down=client.V2HPAScalingRules(
                            stabilization_window_seconds=scaling.scale_down_stabilization_seconds,
                        ),
                    ),
                ),
            )
        )
    return out


def build_disruption_budget(spec: DeploymentSpec) -> client.V1PodDisruptionBudget | None:
    """A budget over every API pod (all colours or tracks); default: one may be unavailable."""
    budget = spec.disruption_budget
    if not budget.enabled:
        return None
    if budget.unhealthy_pod_eviction_policy is not None:
        require("pdb-unhealthy-pod-eviction-policy", spec.kubernetes_version)
    max_unavailable = budget.max_unavailable
    if max_unavailable is None and budget.min_available is None:
        max_unavailable = 1
    return client.V1PodDisruptionBudget(
        api_version=api_version("PodDisruptionBudget", spec.kubernetes_version),
        kind="PodDisruptionBudget",
        metadata=client.V1ObjectMeta(
            name=names(spec).api, namespace=spec.target_namespace, labels=labels(spec, naming.API)
        ),
        spec=client.V1PodDisruptionBudgetSpec(
            selector=client.V1LabelSelector(match_labels=naming.selector(spec, naming.API)),
            max_unavailable=max_unavailable,
            min_available=budget.min_available,
            unhealthy_pod_eviction_policy=budget.unhealthy_pod_eviction_policy,
        ),
    )
