"""The semantic checks find real problems (so a clean result means something)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from k8s_mlserve.manifests import parse_spec, render

from .conftest import counting_source, example_data, variation
from .stack_checks import check_stack


@pytest.fixture
def stack() -> list[dict[str, Any]]:
    data = variation(example_data("diabetes"), "rolling", mlflow=True)
    data.pop("ingress")
    return render(parse_spec(data), counting_source())


def _find(stack: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(m for m in stack if m["kind"] == kind and m["metadata"]["name"] == name)


def _api(stack: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = _find(stack, "Deployment", "diabetes")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def test_the_stack_is_sound(stack: list[dict[str, Any]]) -> None:
    assert check_stack(stack) == []


def test_selector_mismatch(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    _find(broken, "Service", "diabetes")["spec"]["selector"]["app.kubernetes.io/component"] = "x"
    assert "no Service selects the API pods" in check_stack(broken)


def test_wrong_probe_path(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    _api(broken)["readinessProbe"]["httpGet"]["path"] = "/healthz"
    assert any("readinessProbe" in p for p in check_stack(broken))


def test_missing_secret_key(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    del _find(broken, "Secret", "diabetes-postgres")["stringData"]["POSTGRES_DB"]
    assert "Deployment/diabetes-mlflow: Secret diabetes-postgres has no key POSTGRES_DB" in (
        check_stack(broken)
    )


def test_missing_config_map_key(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    del _find(broken, "ConfigMap", "diabetes-config")["data"]["MLFLOW_TRACKING_URI"]
    assert any("has no key MLFLOW_TRACKING_URI" in p for p in check_stack(broken))


def test_autoscaler_without_target_or_requests(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    del _api(broken)["resources"]["requests"]["memory"]
    assert any("requests no memory" in p for p in check_stack(broken))
    _find(broken, "HorizontalPodAutoscaler", "diabetes")["spec"]["scaleTargetRef"]["name"] = "x"
    assert any("target x does not exist" in p for p in check_stack(broken))


def test_network_policy_that_misses_the_api(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    _find(broken, "NetworkPolicy", "diabetes-api")["spec"]["podSelector"]["matchLabels"] = {
        "app": "nothing"
    }
    assert "NetworkPolicy/diabetes-api: selects no pods" in check_stack(broken)


def test_latest_tags_and_root(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    _api(broken)["image"] = "k8s-mlserve:latest"
    _find(broken, "Deployment", "diabetes")["spec"]["template"]["spec"]["securityContext"][
        "runAsNonRoot"
    ] = False
    problems = check_stack(broken)
    assert "Deployment/diabetes: image k8s-mlserve:latest uses latest" in problems
    assert "Deployment/diabetes: pod may run as root" in problems


def test_secrets_dir_must_match_the_mount(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    _find(broken, "ConfigMap", "diabetes-config")["data"]["MLSERVE_SECRETS_DIR"] = "/secrets"
    assert any("MLSERVE_SECRETS_DIR is /secrets" in p for p in check_stack(broken))


def test_a_model_in_the_image_must_not_be_hidden_by_a_volume() -> None:
    spec = parse_spec({**example_data("iris"), "training": None, "model": {"source": "image"}})
    baked = render(spec, counting_source())
    assert check_stack(baked) == []
    broken = copy.deepcopy(baked)
    deployment = _find(broken, "Deployment", "iris-blue")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["volumeMounts"].append({"name": "tmp", "mountPath": "/opt/k8s-mlserve"})
    assert "Deployment/iris-blue: a volume hides the model in the image" in check_stack(broken)


def test_statefulset_without_its_headless_service_or_claim_template(
    stack: list[dict[str, Any]],
) -> None:
    broken = copy.deepcopy(stack)
    broken.remove(_find(broken, "Service", "diabetes-postgres-headless"))
    del _find(broken, "StatefulSet", "diabetes-postgres")["spec"]["volumeClaimTemplates"]
    problems = check_stack(broken)
    assert "StatefulSet/diabetes-postgres: serviceName names no headless Service" in problems
    assert "StatefulSet/diabetes-postgres: mount data has no volume" in problems


def test_the_page_must_reach_the_api_and_answer_its_probes(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    ui = _find(broken, "Deployment", "diabetes-ui")["spec"]["template"]["spec"]["containers"][0]
    ui["args"][ui["args"].index("--url") + 1] = "http://diabetes:80"
    ui["args"][ui["args"].index("--secrets-dir") + 1] = "/secrets"
    ui["livenessProbe"]["httpGet"]["path"] = "/health"
    problems = check_stack(broken)
    owner = "Deployment/diabetes-ui"
    assert f"{owner}: --url http://diabetes:80 is no port of a rendered Service" in problems
    assert any(p.startswith(f"{owner}: --secrets-dir /secrets") for p in problems)
    assert any(p.startswith(f"{owner}: livenessProbe is") for p in problems)
    ui["args"][ui["args"].index("--url") + 1] = "http://diabetes-ui:80"
    assert f"{owner}: --url http://diabetes-ui:80 is not a Service of the API pods" in (
        check_stack(broken)
    )


def test_the_api_network_policy_must_admit_the_page(stack: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(stack)
    rule = _find(broken, "NetworkPolicy", "diabetes-api")["spec"]["ingress"][0]
    rule["from"] = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]
    problems = check_stack(broken)
    assert "NetworkPolicy/diabetes-api: does not admit the pods of Deployment/diabetes-ui" in (
        problems
    )
