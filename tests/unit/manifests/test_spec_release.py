"""The ``shadow`` and ``analysis`` sections: validation, the shadow settings in the ConfigMap,
and the analysis CronJob with its RBAC objects, valid for 1.20 and a current Kubernetes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import parse_spec, render
from k8s_mlserve.manifests.analysis_job import analysis_spec
from k8s_mlserve.manifests.config import config_data, config_hash, monitoring_token_key
from k8s_mlserve.manifests.spec_release import Analysis
from k8s_mlserve.settings import ShadowSettings

from .conftest import counting_source, minimal
from .schema_validation import shipped_versions, validate
from .stack_checks import check_stack

MLFLOW: dict[str, Any] = {"mlflow": {}, "model": {"registered_name": "churn-model"}}
CANARY: dict[str, Any] = {
    "api": {"replicas": 4},
    "strategy": {"type": "canary", "percent": 25, "canary": {"image_tag": "1.1.0"}},
}


def shadow_settings(**overrides: Any) -> dict[str, str]:
    data = config_data(parse_spec(minimal(**overrides)))
    return {k: v for k, v in data.items() if k.startswith("MLSERVE_SHADOW__")}


@pytest.mark.parametrize(
    ("extra", "challenger", "model"),
    [
        (MLFLOW, "@challenger", "models:/churn-model@challenger"),
        (MLFLOW, "7", "models:/churn-model/7"),
        (MLFLOW, "v7", "models:/churn-model/7"),
        (MLFLOW, "models:/other@candidate", "models:/other@candidate"),
        ({}, "v2", "v2"),  # a version of the registry directory on the models claim
    ],
)
def test_the_challenger_becomes_the_shadow_model_setting(
    extra: dict[str, Any], challenger: str, model: str
) -> None:
    settings = shadow_settings(**extra, shadow={"challenger": challenger, "sample_rate": 0.25})
    assert settings == {
        "MLSERVE_SHADOW__MODEL": model,
        "MLSERVE_SHADOW__SAMPLE_RATE": "0.25",
        "MLSERVE_SHADOW__QUEUE_SIZE": "1000",
    }


def test_every_shadow_variable_is_a_server_setting() -> None:
    for key in shadow_settings(**MLFLOW, shadow={}):
        section, name = key.removeprefix("MLSERVE_").lower().split("__")
        assert section == "shadow"
        assert name in ShadowSettings.model_fields


def test_no_shadow_section_no_shadow_settings_and_a_change_rolls_the_pods() -> None:
    assert shadow_settings(**MLFLOW) == {}
    before = config_hash(parse_spec(minimal(**MLFLOW, shadow={})))
    after = config_hash(parse_spec(minimal(**MLFLOW, shadow={"sample_rate": 0.5})))
    assert before != after


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(shadow={}), "@challenger is an alias of model.registered_name"),
        (minimal(shadow={"challenger": "not a version!"}), "is not a challenger"),
        (minimal(**MLFLOW, shadow={"challenger": "v2-rc"}), "an MLflow version is a number"),
        (minimal(model={"source": "image"}, shadow={"challenger": "v2"}), "only a models:/ URI"),
        (minimal(**MLFLOW, shadow={"sample_rate": 0}), "sample_rate"),
        (minimal(analysis={}), "analysis judges a shadow challenger or a canary"),
        (minimal(**CANARY, analysis={"schedule": "soon"}), "analysis.schedule"),
        (minimal(**CANARY, analysis={"min_agreement": 1.5}), "analysis.min_agreement"),
    ],
)
def test_invalid_sections_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_spec(data)


def test_the_documented_defaults() -> None:
    rules = Analysis()
    assert (rules.min_rows, rules.min_agreement, rules.max_error_ratio, rules.max_p99_ratio) == (
        200,
        0.95,
        0.01,
        1.5,
    )
    assert rules.max_mean_abs_delta is None
    assert rules.schedule is None


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_no_schedule_no_cron_job_nor_rbac() -> None:
    manifests = render(parse_spec(minimal(**CANARY, analysis={})), counting_source())
    kinds = {m["kind"] for m in manifests}
    assert not kinds & {"CronJob", "ServiceAccount", "Role", "RoleBinding"}
    assert "demo-analysis" not in by_kind(manifests, "ConfigMap")


def test_a_schedule_renders_the_cron_job_with_a_least_privilege_role() -> None:
    spec = parse_spec(minimal(**CANARY, analysis={"schedule": "*/30 * * * *"}))
    manifests = render(spec, counting_source())
    role = by_kind(manifests, "Role")["demo-analysis"]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]},
    ]
    binding = by_kind(manifests, "RoleBinding")["demo-analysis"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "demo-analysis",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "demo-analysis", "namespace": "demo"}
    ]
    assert (
        by_kind(manifests, "ServiceAccount")["demo-analysis"]["automountServiceAccountToken"]
        is False
    )
    cron = by_kind(manifests, "CronJob")["demo-analysis"]
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "demo-analysis"
    assert pod["automountServiceAccountToken"] is True
    (container,) = pod["containers"]
    assert container["command"] == ["k8s-mlserve", "rollout", "analyze"]
    assert container["args"] == [
        "/etc/k8s-mlserve/analysis/deploy.yaml",
        "--token-file",
        "/etc/k8s-mlserve/secrets/auth__monitoring_token",
    ]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["spec"]["configMap"]["name"] == "demo-analysis"
    assert volumes["secrets"]["secret"]["secretName"] == "demo-secrets"
    # Only the analysis pod gets a service account token.
    others = [
        t["spec"]
        for t in (d["spec"]["template"] for d in by_kind(manifests, "Deployment").values())
    ]
    assert all(p["automountServiceAccountToken"] is False for p in others)


def test_without_a_monitoring_token_the_job_passes_none() -> None:
    data = minimal(**CANARY, analysis={"schedule": "@hourly"}, secrets={"monitoring_token": None})
    cron = by_kind(render(parse_spec(data), counting_source()), "CronJob")["demo-analysis"]
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["/etc/k8s-mlserve/analysis/deploy.yaml"]
    text = by_kind(render(parse_spec(data), counting_source()), "ConfigMap")["demo-analysis"]
    assert monitoring_token_key(parse_spec(yaml.safe_load(text["data"]["deploy.yaml"]))) is None


def test_the_mounted_spec_loads_back_with_what_analysis_needs() -> None:
    spec = parse_spec(
        minimal(
            **MLFLOW,
            namespace="models",
            labels={"team": "risk"},
            shadow={"challenger": "@challenger", "sample_rate": 0.5},
            analysis={"schedule": "@hourly", "min_rows": 500, "max_mean_abs_delta": 0.1},
            drift_check={"schedule": "@daily"},
        )
    )
    manifests = render(spec, counting_source())
    text = by_kind(manifests, "ConfigMap")["demo-analysis"]["data"]["deploy.yaml"]
    assert yaml.safe_load(text) == analysis_spec(spec)
    loaded = parse_spec(yaml.safe_load(text))
    assert (loaded.name, loaded.target_namespace) == ("demo", "models")
    assert loaded.shadow == spec.shadow
    assert loaded.analysis == spec.analysis
    assert loaded.model == spec.model
    assert loaded.strategy == spec.strategy
    assert loaded.secrets == spec.secrets  # the defaults: the token key is where the job reads it
    assert loaded.drift_check is None


CURRENT = shipped_versions()[-1]


@pytest.mark.parametrize("target", ["1.20", CURRENT])
@pytest.mark.parametrize(
    "data",
    [
        minimal(**MLFLOW, shadow={}, analysis={"schedule": "@hourly"}),
        minimal(**CANARY, analysis={"schedule": "0 * * * *"}),
        minimal(**CANARY, **MLFLOW, shadow={"challenger": "4"}, analysis={"schedule": "@daily"}),
    ],
    ids=["shadow", "canary", "both"],
)
def test_the_objects_are_valid_and_the_stack_sound(data: dict[str, Any], target: str) -> None:
    manifests = render(parse_spec({**data, "kubernetes_version": target}), counting_source())
    assert {"CronJob", "ServiceAccount", "Role", "RoleBinding"} <= {m["kind"] for m in manifests}
    errors = [e for m in manifests for e in validate(m, target)]
    assert errors == []
    assert check_stack(manifests) == []
