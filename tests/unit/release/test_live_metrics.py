"""Analysis of a live release: pods read through the pod proxy of a fake cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from k8s_mlserve.errors import RolloutError
from k8s_mlserve.manifests import DeploymentSpec, parse_spec, render
from k8s_mlserve.release.live_metrics import analyze, monitoring_token
from k8s_mlserve.release.rollout import Cluster

from ..manifests.conftest import counting_source, minimal
from ..manifests.fake_cluster import ApiError
from .fake_pods import FakePodCluster
from .test_analysis import metrics_text, shadow_json

TOKEN = "gen-2-".ljust(32, "x")  # counting_source's second value: the monitoring token


def shadow_spec(**extra: Any) -> DeploymentSpec:
    return parse_spec(
        minimal(
            mlflow={},
            model={"registered_name": "churn-model"},
            api={"replicas": 3},
            shadow={"challenger": "@challenger"},
            **extra,
        )
    )


def canary_spec() -> DeploymentSpec:
    return parse_spec(
        minimal(
            api={"replicas": 4},
            strategy={"type": "canary", "percent": 25, "canary": {"image_tag": "1.1.0"}},
            analysis={"min_rows": 100},
        )
    )


def cluster_of(spec: DeploymentSpec) -> tuple[FakePodCluster, Cluster]:
    fake = FakePodCluster(render(spec, counting_source()))
    return fake, Cluster(apps=fake, core=fake, pods=fake)


def test_the_monitoring_token_comes_from_the_api_secret() -> None:
    spec = shadow_spec()
    fake, cluster = cluster_of(spec)
    assert monitoring_token(cluster, spec) == TOKEN
    del fake.secrets[("demo", "demo-secrets")]
    with pytest.raises(
        RolloutError,
        match=r"Secret demo-secrets in demo \(the API server answered 404\); pass --token-file",
    ):
        monitoring_token(cluster, spec)
    open_spec = shadow_spec(secrets={"api_keys": None, "monitoring_token": None})
    assert monitoring_token(cluster, open_spec) is None


def test_shadow_analysis_sums_the_pods_and_sends_the_token_as_an_api_key() -> None:
    spec = shadow_spec()
    fake, cluster = cluster_of(spec)
    fake.answer("demo-0", "/shadow", json.dumps(shadow_json(150, 0.99)))
    fake.answer("demo-1", "/shadow", json.dumps(shadow_json(100, 0.95)))
    fake.answer("demo-2", "/shadow", json.dumps(shadow_json(0, None)))
    verdict = analyze(cluster, spec)
    assert verdict.kind == "shadow"
    assert verdict.status == "pass"
    assert {c.name: c.measured for c in verdict.checks}["rows scored"] == "250"
    assert [p["name"] for p in fake.proxied] == ["demo-0:8000", "demo-1:8000", "demo-2:8000"]
    # The API server drops Authorization once it has authenticated the caller.
    assert all(p["headers"] == {"X-API-Key": TOKEN} for p in fake.proxied)


def test_unready_pods_are_left_out_and_unreachable_ones_make_the_verdict_unsure() -> None:
    spec = shadow_spec()
    fake, cluster = cluster_of(spec)
    deployment = fake.deployment("demo", "demo")
    fake.add_pod("demo-starting", deployment, ready=False)
    fake.answer("demo", "/shadow", json.dumps(shadow_json(300, 0.99)))
    fake.answer("demo-2", "/shadow", ApiError(401, "Unauthorized"))
    verdict = analyze(cluster, spec, token="given")
    assert "demo-starting:8000" not in [p["name"] for p in fake.proxied]
    assert verdict.problems == (
        "pod demo-2: /shadow answered 401 (wrong or missing monitoring token?)",
    )
    assert verdict.exit_code == 2
    assert fake.proxied[0]["headers"] == {"X-API-Key": "given"}


def test_a_failing_challenger_fails_the_analysis() -> None:
    spec = shadow_spec()
    fake, cluster = cluster_of(spec)
    fake.answer("demo", "/shadow", json.dumps(shadow_json(300, 0.80)))
    verdict = analyze(cluster, spec)
    assert (verdict.status, verdict.exit_code) == ("fail", 1)


def test_no_ready_pod_is_not_enough_data() -> None:
    spec = shadow_spec()
    fake, cluster = cluster_of(spec)
    fake.pods.clear()
    verdict = analyze(cluster, spec)
    assert verdict.problems == ("no ready API pod",)
    assert verdict.exit_code == 2


def test_a_pod_answering_something_else_is_an_error() -> None:
    spec = shadow_spec()
    fake, cluster = cluster_of(spec)
    fake.answer("demo", "/shadow", "<html>")
    with pytest.raises(RolloutError, match="pod demo-0: /shadow is not JSON"):
        analyze(cluster, spec)


def test_canary_analysis_compares_the_tracks() -> None:
    spec = canary_spec()
    fake, cluster = cluster_of(spec)
    assert len([p for p in fake.pods if "canary" in p["metadata"]["name"]]) == 1
    fake.answer("demo-stable", "/metrics", metrics_text(300, 0, (0.004,) * 300))
    fake.answer("demo-canary", "/metrics", metrics_text(150, 0, (0.004,) * 150))
    verdict = analyze(cluster, spec)
    assert verdict.kind == "canary"
    assert verdict.status == "pass"
    assert "over 900 requests" in verdict.subject  # three stable pods, summed
    assert {p["path"] for p in fake.proxied} == {"metrics"}


def test_a_canary_answering_5xx_fails() -> None:
    spec = canary_spec()
    fake, cluster = cluster_of(spec)
    fake.answer("demo-stable", "/metrics", metrics_text(300, 0, (0.004,) * 300))
    fake.answer("demo-canary", "/metrics", metrics_text(120, 30, (0.004,) * 150))
    verdict = analyze(cluster, spec)
    assert [c.name for c in verdict.checks if c.status == "fail"] == ["canary 5xx ratio"]


def test_the_kind_must_fit_the_spec() -> None:
    spec = canary_spec()
    _, cluster = cluster_of(spec)
    with pytest.raises(RolloutError, match="no shadow analysis: demo has no shadow section"):
        analyze(cluster, spec, kind="shadow")
    rolling = shadow_spec()
    _, cluster = cluster_of(rolling)
    with pytest.raises(RolloutError, match="no canary analysis: demo uses strategy rolling"):
        analyze(cluster, rolling, kind="canary")
