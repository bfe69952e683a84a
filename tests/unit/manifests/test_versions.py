from __future__ import annotations

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests.versions import (
    DEFAULT_TARGET,
    OLDEST_SUPPORTED,
    KubeVersion,
    api_version,
    check_supported,
    require,
    supports,
)


def test_parse_and_order() -> None:
    assert KubeVersion.parse("v1.20.2") == KubeVersion(1, 20)
    assert KubeVersion.parse("1.9") < KubeVersion.parse("1.10") < KubeVersion.parse("1.100")
    assert str(KubeVersion(1, 31)) == "1.31"
    with pytest.raises(ValueError, match="'1' is not a Kubernetes version"):
        KubeVersion.parse("1")


def test_default_target_is_a_current_release() -> None:
    assert KubeVersion(1, 20) == OLDEST_SUPPORTED
    assert KubeVersion(1, 30) <= DEFAULT_TARGET


@pytest.mark.parametrize(
    ("kind", "old", "first_new", "new"),
    [
        ("HorizontalPodAutoscaler", "autoscaling/v2beta2", "1.23", "autoscaling/v2"),
        ("PodDisruptionBudget", "policy/v1beta1", "1.21", "policy/v1"),
        ("CronJob", "batch/v1beta1", "1.21", "batch/v1"),
    ],
)
def test_api_versions_follow_the_target(kind: str, old: str, first_new: str, new: str) -> None:
    boundary = KubeVersion.parse(first_new)
    assert api_version(kind, OLDEST_SUPPORTED) == old
    assert api_version(kind, KubeVersion(boundary.major, boundary.minor - 1)) == old
    assert api_version(kind, boundary) == new
    assert api_version(kind, KubeVersion(1, 40)) == new


def test_stable_kinds_and_unknown_kinds() -> None:
    assert api_version("Ingress", OLDEST_SUPPORTED) == "networking.k8s.io/v1"
    assert api_version("Deployment", KubeVersion(1, 35)) == "apps/v1"
    assert api_version("StatefulSet", OLDEST_SUPPORTED) == "apps/v1"
    with pytest.raises(ConfigurationError, match="no API version known for kind DaemonSet"):
        api_version("DaemonSet", DEFAULT_TARGET)


def test_features_name_the_version_they_need() -> None:
    assert not supports("prestop-sleep", KubeVersion(1, 29))
    assert supports("prestop-sleep", KubeVersion(1, 30))
    require("cronjob-time-zone", KubeVersion(1, 27))
    with pytest.raises(ConfigurationError) as info:
        require("cronjob-time-zone", KubeVersion(1, 26))
    assert str(info.value) == (
        "CronJob time zones (drift_check.time_zone) needs Kubernetes 1.27 or newer, but the "
        "target is 1.26 (kubernetes_version); remove it or raise the target"
    )


def test_targets_below_the_oldest_are_refused() -> None:
    check_supported(OLDEST_SUPPORTED)
    with pytest.raises(ConfigurationError, match=r"the oldest supported version is 1\.20"):
        check_supported(KubeVersion(1, 19))
