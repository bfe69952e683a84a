from __future__ import annotations

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import render

from .conftest import counting_source, make_spec, rendered


@pytest.mark.parametrize(
    ("target", "api"),
    [("1.20", "autoscaling/v2beta2"), ("1.22", "autoscaling/v2beta2"), ("1.23", "autoscaling/v2")],
)
def test_autoscaler(target: str, api: str) -> None:
    spec = make_spec(
        kubernetes_version=target,
        autoscaling={
            "min_replicas": 2,
            "max_replicas": 6,
            "cpu_utilization": 60,
            "memory_utilization": None,
            "scale_down_stabilization_seconds": 120,
        },
    )
    hpa = rendered(spec)["HorizontalPodAutoscaler/demo"]
    assert hpa["apiVersion"] == api
    assert hpa["spec"] == {
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120}},
        "maxReplicas": 6,
        "metrics": [
            {
                "resource": {
                    "name": "cpu",
                    "target": {"averageUtilization": 60, "type": "Utilization"},
                },
                "type": "Resource",
            }
        ],
        "minReplicas": 2,
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo"},
    }


@pytest.mark.parametrize(("target", "api"), [("1.20", "policy/v1beta1"), ("1.21", "policy/v1")])
def test_disruption_budget(target: str, api: str) -> None:
    pdb = rendered(make_spec(kubernetes_version=target))["PodDisruptionBudget/demo"]
    assert pdb["apiVersion"] == api
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/instance": "demo",
                "app.kubernetes.io/component": "api",
            }
        },
    }


def test_disruption_budget_options() -> None:
    pdb = rendered(make_spec(api={"replicas": 4}, disruption_budget={"min_available": "50%"}))[
        "PodDisruptionBudget/demo"
    ]
    assert pdb["spec"]["minAvailable"] == "50%"
    assert "maxUnavailable" not in pdb["spec"]
    assert "PodDisruptionBudget/demo" not in rendered(
        make_spec(disruption_budget={"enabled": False})
    )


def test_unhealthy_pod_eviction_policy_needs_1_27() -> None:
    budget = {"unhealthy_pod_eviction_policy": "AlwaysAllow"}
    with pytest.raises(ConfigurationError, match=r"needs Kubernetes 1\.27"):
        render(make_spec(kubernetes_version="1.26", disruption_budget=budget), counting_source())
    pdb = rendered(make_spec(kubernetes_version="1.27", disruption_budget=budget))[
        "PodDisruptionBudget/demo"
    ]
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
