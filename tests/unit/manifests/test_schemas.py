"""Every rendered object of every example, in every strategy, with and without the MLflow stack,
is valid for the oldest supported and a current Kubernetes, and the stacks are sound."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from k8s_mlserve.manifests import (
    DEFAULT_TARGET,
    KubeVersion,
    for_cluster,
    load_spec,
    parse_spec,
    render,
)

from .conftest import (
    EXAMPLES,
    STRATEGIES,
    counting_source,
    example_data,
    example_specs,
    relative,
    variation,
)
from .schema_validation import schema_dir, shipped_versions, validate
from .stack_checks import External, check_stack

CURRENT = shipped_versions()[-1]
TARGETS = ("1.20", CURRENT)


def _render(data: dict[str, Any], target: str) -> list[dict[str, Any]]:
    spec = parse_spec({**data, "kubernetes_version": target})
    return render(spec, counting_source())


def _external(data: dict[str, Any]) -> External:
    ingress = data.get("ingress") or {}
    return External(secrets={ingress["tls_secret"]} if ingress.get("tls_secret") else set())


def test_the_oldest_and_a_current_version_have_schemas() -> None:
    assert schema_dir("1.20").is_dir()
    assert KubeVersion.parse(CURRENT) >= KubeVersion(1, 30)
    assert KubeVersion.parse(CURRENT) >= DEFAULT_TARGET or str(DEFAULT_TARGET) in shipped_versions()


def test_every_example_is_found() -> None:
    assert {p.parent.name for p in example_specs()} >= set(EXAMPLES)


@pytest.mark.parametrize("target", ["1.20", "1.25", str(DEFAULT_TARGET), CURRENT])
@pytest.mark.parametrize("path", example_specs(), ids=relative)
def test_examples_as_written_are_valid(path: Path, target: str) -> None:
    # As a cluster of that version would get them: examples follow the cluster's version.
    spec = for_cluster(load_spec(path), KubeVersion.parse(target))
    assert str(spec.kubernetes_version) == target
    manifests = render(spec, counting_source())
    errors = [e for m in manifests for e in validate(m, target)]
    assert errors == []
    assert check_stack(manifests, _external(yaml.safe_load(path.read_text()))) == []


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("mlflow", [False, True], ids=["api-only", "mlflow"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_strategy_and_stack_is_valid(
    name: str, strategy: str, mlflow: bool, target: str
) -> None:
    data = variation(example_data(name), strategy, mlflow)
    manifests = _render(data, target)
    kinds = {m["kind"] for m in manifests}
    assert {"Ingress", "CronJob", "Job", "NetworkPolicy", "PodDisruptionBudget"} <= kinds
    assert ("HorizontalPodAutoscaler" in kinds) == (strategy != "canary")
    errors = [e for m in manifests for e in validate(m, target)]
    assert errors == []
    assert check_stack(manifests, _external(data)) == []


def test_the_package_validator_agrees_on_a_current_version() -> None:
    # The same check through kubernetes-validate's own entry point, for one full stack.
    for manifest in _render(variation(example_data("diabetes"), "blue-green", True), CURRENT):
        kubernetes_validate.validate(manifest, CURRENT, strict=True)


def test_schema_validation_catches_an_unknown_field() -> None:
    manifests = _render(example_data("iris"), "1.20")
    deployment = copy.deepcopy(next(m for m in manifests if m["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["startupProbes"] = {}
    assert any("startupProbes" in e for e in validate(deployment, "1.20"))


def test_schema_validation_refuses_api_versions_the_target_lacks() -> None:
    new = _render(example_data("diabetes"), CURRENT)
    hpa = next(m for m in new if m["kind"] == "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert validate(hpa, "1.20") == [
        "HorizontalPodAutoscaler/diabetes: Kubernetes 1.20 has no autoscaling/v2 "
        "HorizontalPodAutoscaler"
    ]


def test_1_20_features_missing_from_old_schemas_are_caught() -> None:
    # The preStop sleep action exists from 1.30: rendering for a current version and validating
    # against 1.20 must fail, which shows the 1.20 schemas are strict enough to matter.
    manifests = _render(example_data("iris"), CURRENT)
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    assert any("sleep" in e for e in validate(deployment, "1.20"))
