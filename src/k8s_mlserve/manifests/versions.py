"""Target Kubernetes versions: which API version of a kind, and which features, a target has.

The same spec deploys from the oldest supported version to the newest: like a chart author's
``semverCompare`` checks, each kind picks the newest API version the target serves, and a feature
the target cannot express is a ``ConfigurationError`` naming the version it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..errors import ConfigurationError

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


@dataclass(frozen=True, order=True)
class KubeVersion:
    """A Kubernetes minor version such as 1.20."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> KubeVersion:
        """Read ``1.20``, ``v1.20`` or ``1.20.2``."""
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise ValueError(f"'{text}' is not a Kubernetes version; expected e.g. '1.30'")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


OLDEST_SUPPORTED: Final = KubeVersion(1, 20)
DEFAULT_TARGET: Final = KubeVersion(1, 34)

# (kind, first version serving the newer API version, newer, older)
_API_VERSIONS: Final = {
    "HorizontalPodAutoscaler": (KubeVersion(1, 23), "autoscaling/v2", "autoscaling/v2beta2"),
    "PodDisruptionBudget": (KubeVersion(1, 21), "policy/v1", "policy/v1beta1"),
    "CronJob": (KubeVersion(1, 21), "batch/v1", "batch/v1beta1"),
}
_STABLE_API_VERSIONS: Final = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "PersistentVolumeClaim": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
    "Ingress": "networking.k8s.io/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "ServiceAccount": "v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
}

# feature -> (first version able to express it, what it is)
FEATURES: Final = {
    "prestop-sleep": (KubeVersion(1, 30), "the preStop sleep action"),
    "cronjob-time-zone": (KubeVersion(1, 27), "CronJob time zones (drift_check.time_zone)"),
    "job-ttl": (
        KubeVersion(1, 21),
        "Job clean-up after it finishes (training.ttl_seconds_after_finished)",
    ),
    "namespace-name-label": (
        KubeVersion(1, 21),
        "selecting namespaces by name (the kubernetes.io/metadata.name label)",
    ),
    "pdb-unhealthy-pod-eviction-policy": (
        KubeVersion(1, 27),
        "disruption_budget.unhealthy_pod_eviction_policy",
    ),
}


def check_supported(target: KubeVersion) -> None:
    """Refuse targets older than the oldest supported version."""
    if target < OLDEST_SUPPORTED:
        raise ConfigurationError(
            f"kubernetes_version: {target} is not supported; the oldest supported version is "
            f"{OLDEST_SUPPORTED}"
        )


def api_version(kind: str, target: KubeVersion) -> str:
    """The ``apiVersion`` to write for ``kind`` on a cluster of version ``target``."""
    if kind in _API_VERSIONS:
        since, newer, older = _API_VERSIONS[kind]
        return newer if target >= since else older
    try:
        return _STABLE_API_VERSIONS[kind]
    except KeyError:
        raise ConfigurationError(f"no API version known for kind {kind}") from None


def supports(feature: str, target: KubeVersion) -> bool:
    """Whether ``target`` can express ``feature`` (a key of ``FEATURES``)."""
    return target >= FEATURES[feature][0]


def require(feature: str, target: KubeVersion) -> None:
    """Raise ``ConfigurationError`` when ``target`` cannot express ``feature``."""
    since, what = FEATURES[feature]
    if target < since:
        raise ConfigurationError(
            f"{what} needs Kubernetes {since} or newer, but the target is {target} "
            "(kubernetes_version); remove it or raise the target"
        )
