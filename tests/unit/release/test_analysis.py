"""The verdicts of release analysis, from numbers as the pods report them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from prometheus_client import generate_latest

from k8s_mlserve.errors import RolloutError
from k8s_mlserve.manifests.spec_release import Analysis
from k8s_mlserve.release.analysis import (
    ModelVersion,
    ShadowReport,
    Traffic,
    judge_canary,
    judge_shadow,
    parse_traffic,
    summarize_shadow,
)
from k8s_mlserve.server.metrics import ServerMetrics


def shadow_json(
    rows: int,
    agreement: float | None = 0.99,
    *,
    errors: int = 0,
    mean_abs_delta: float | None = 0.02,
    max_abs_delta: float | None = 0.3,
    challenger: str | None = "v4",
    enabled: bool = True,
) -> dict[str, Any]:
    """A ``GET /shadow`` answer shaped as the server's contract."""
    return {
        "enabled": enabled,
        "champion": {"name": "churn-model", "version": "v3"},
        "challenger": (
            {"name": "churn-model", "version": challenger, "uri": "models:/churn-model@challenger"}
            if challenger
            else None
        ),
        "challenger_error": None if challenger else "no version has alias challenger",
        "sample_rate": 0.5,
        "queue_size": 1000,
        "rows_scored": rows,
        "rows_dropped": 1,
        "errors": errors,
        "agreement": agreement,
        "mean_abs_delta": mean_abs_delta,
        "max_abs_delta": max_abs_delta,
        "labels": {"yes": {"yes": rows}},
        "latency_seconds": {"mean": 0.001, "p50": 0.001, "p99": 0.004},
        "since": "2026-01-01T00:00:00Z",
    }


def reports(*answers: dict[str, Any]) -> list[ShadowReport]:
    return [ShadowReport.parse(f"api-{i}", a) for i, a in enumerate(answers)]


def statuses(verdict: Any) -> dict[str, str]:
    return {c.name: c.status for c in verdict.checks}


# -- shadow -------------------------------------------------------------------------------------


def test_shadow_rows_add_up_and_rates_are_weighted_by_rows() -> None:
    summary = summarize_shadow(
        reports(
            shadow_json(300, 1.0, mean_abs_delta=0.0, max_abs_delta=0.1),
            shadow_json(100, 0.6, errors=4, mean_abs_delta=0.4, max_abs_delta=0.9),
        )
    )
    assert summary.rows == 400
    assert summary.dropped == 2
    assert summary.errors == 4
    assert summary.agreement == pytest.approx((300 * 1.0 + 100 * 0.6) / 400)  # not the mean 0.8
    assert summary.mean_abs_delta == pytest.approx(0.1)
    assert summary.max_abs_delta == 0.9
    assert summary.error_share == pytest.approx(4 / 404)
    assert summary.challenger == ModelVersion("churn-model", "v4")
    assert summary.champion == ModelVersion("churn-model", "v3")
    assert summary.problems == ()


def test_a_pod_without_rows_does_not_weigh_on_the_agreement() -> None:
    summary = summarize_shadow(reports(shadow_json(250, 0.97), shadow_json(0, None)))
    assert summary.agreement == pytest.approx(0.97)


def test_a_passing_shadow_verdict() -> None:
    verdict = judge_shadow(
        summarize_shadow(reports(shadow_json(150, 0.97), shadow_json(150, 0.99))),
        Analysis(max_mean_abs_delta=0.05),
    )
    assert statuses(verdict) == {
        "rows scored": "pass",
        "agreement": "pass",
        "mean |delta|": "pass",
        "challenger error share": "pass",
    }
    assert (verdict.status, verdict.exit_code) == ("pass", 0)
    assert verdict.challenger == ModelVersion("churn-model", "v4")
    table = verdict.table()
    assert re.search(r"^agreement +0\.98 +>= 0\.95 +pass$", table, re.MULTILINE)
    assert table.endswith("verdict: pass")


@pytest.mark.parametrize(
    ("answer", "failing"),
    [
        (shadow_json(500, 0.90), "agreement"),
        (shadow_json(500, 0.99, mean_abs_delta=0.2), "mean |delta|"),
        (shadow_json(500, 0.99, errors=10), "challenger error share"),
    ],
)
def test_a_failing_shadow_verdict_names_the_check(answer: dict[str, Any], failing: str) -> None:
    verdict = judge_shadow(summarize_shadow(reports(answer)), Analysis(max_mean_abs_delta=0.05))
    assert [c.name for c in verdict.checks if c.status == "fail"] == [failing]
    assert (verdict.status, verdict.exit_code) == ("fail", 1)


def test_too_few_rows_judge_nothing() -> None:
    # A poor agreement over a handful of rows is no evidence either way.
    verdict = judge_shadow(summarize_shadow(reports(shadow_json(199, 0.5))), Analysis())
    assert set(statuses(verdict).values()) == {"insufficient"}
    assert (verdict.status, verdict.exit_code) == ("insufficient", 2)


def test_a_regressor_has_no_agreement_check() -> None:
    verdict = judge_shadow(
        summarize_shadow(reports(shadow_json(400, None, mean_abs_delta=1.5))),
        Analysis(max_mean_abs_delta=1.0),
    )
    assert "agreement" not in statuses(verdict)
    assert statuses(verdict)["mean |delta|"] == "fail"


def test_pods_without_a_challenger_or_with_different_ones_make_the_verdict_unsure() -> None:
    summary = summarize_shadow(
        reports(
            shadow_json(300), shadow_json(300, challenger="v5"), shadow_json(0, challenger=None)
        )
    )
    assert summary.challenger is None
    assert any("different challengers" in p for p in summary.problems)
    assert any("api-2: no challenger loaded: no version has alias" in p for p in summary.problems)
    verdict = judge_shadow(summary, Analysis())
    assert all(c.status == "pass" for c in verdict.checks)
    assert (verdict.status, verdict.exit_code) == ("insufficient", 2)
    assert "problem: the pods score different challengers" in verdict.table()


def test_shadow_scoring_off_is_a_problem() -> None:
    summary = summarize_shadow(reports(shadow_json(0, None, challenger=None, enabled=False)))
    assert summary.problems == ("pod api-0: shadow scoring is off",)


@pytest.mark.parametrize(
    "answer",
    [
        {"enabled": True},
        {**shadow_json(10), "rows_scored": "many"},
        {**shadow_json(10), "agreement": "nan"},
    ],
)
def test_a_report_of_another_shape_is_an_error_naming_the_pod(answer: dict[str, Any]) -> None:
    with pytest.raises(RolloutError, match="pod api-0: /shadow did not answer a shadow report"):
        reports(answer)


# -- canary -------------------------------------------------------------------------------------


def metrics_text(ok: int, errors: int = 0, latencies: tuple[float, ...] = ()) -> str:
    """A pod's /metrics, written by the server's own metrics, with probe traffic beside."""
    metrics = ServerMetrics()
    if ok:
        metrics.requests.labels("/predict", "POST", "200").inc(ok)
    if errors:
        metrics.requests.labels("/predict", "POST", "503").inc(errors)
    metrics.requests.labels("/ready", "GET", "503").inc(1000)  # probes: not answers to users
    metrics.latency.labels("/ready").observe(4.0)
    for seconds in latencies:
        metrics.latency.labels("/predict").observe(seconds)
    return generate_latest(metrics.registry).decode()


def test_parse_traffic_leaves_probes_out() -> None:
    traffic = parse_traffic(metrics_text(90, 10, (0.003,) * 5))
    assert (traffic.requests, traffic.server_errors) == (100, 10)
    assert traffic.error_ratio == pytest.approx(0.1)
    assert traffic.buckets[float("inf")] == 5
    assert traffic.buckets[0.0025] == 0
    assert traffic.buckets[0.005] == 5


def test_quantile_interpolates_within_a_bucket_as_prometheus_does() -> None:
    traffic = Traffic(100, 0, {0.1: 50.0, 0.2: 100.0, float("inf"): 100.0})
    assert traffic.quantile(0.5) == pytest.approx(0.1)
    assert traffic.quantile(0.75) == pytest.approx(0.15)
    assert traffic.quantile(0.99) == pytest.approx(0.198)
    assert Traffic().quantile(0.99) is None
    beyond = Traffic(10, 0, {0.1: 0.0, float("inf"): 10.0})
    assert beyond.quantile(0.99) == 0.1  # above the last finite bound: that bound


def test_tracks_add_up_over_pods() -> None:
    total = parse_traffic(metrics_text(10, 1, (0.01,))) + parse_traffic(metrics_text(20))
    assert (total.requests, total.server_errors) == (31, 1)
    assert total.buckets[float("inf")] == 1


def test_unreadable_metrics_are_an_error() -> None:
    with pytest.raises(RolloutError, match="cannot read the metrics"):
        parse_traffic('mlserve_http_requests_total{route="/predict" 3\n')


def test_a_passing_canary_verdict() -> None:
    canary = parse_traffic(metrics_text(300, 1, (0.004,) * 300))
    stable = parse_traffic(metrics_text(900, 0, (0.004,) * 900))
    verdict = judge_canary(canary, stable, Analysis())
    assert statuses(verdict) == {
        "canary requests": "pass",
        "canary 5xx ratio": "pass",
        "p99 canary/stable": "pass",
    }
    assert verdict.exit_code == 0


def test_a_slow_or_failing_canary_fails() -> None:
    stable = parse_traffic(metrics_text(900, 0, (0.004,) * 900))
    slow = judge_canary(parse_traffic(metrics_text(300, 0, (0.2,) * 300)), stable, Analysis())
    assert statuses(slow)["p99 canary/stable"] == "fail"
    failing = judge_canary(parse_traffic(metrics_text(280, 20, (0.004,) * 300)), stable, Analysis())
    assert statuses(failing)["canary 5xx ratio"] == "fail"
    assert (failing.status, failing.exit_code) == ("fail", 1)


def test_a_quiet_canary_or_stable_is_insufficient() -> None:
    stable = parse_traffic(metrics_text(900, 0, (0.004,) * 900))
    quiet = judge_canary(parse_traffic(metrics_text(50, 25, (0.5,) * 75)), stable, Analysis())
    assert set(statuses(quiet).values()) == {"insufficient"}
    canary = parse_traffic(metrics_text(300, 0, (0.004,) * 300))
    no_stable = judge_canary(canary, Traffic(), Analysis(), ["no ready stable pod"])
    assert statuses(no_stable)["p99 canary/stable"] == "insufficient"
    assert (no_stable.status, no_stable.exit_code) == ("insufficient", 2)
    assert "problem: no ready stable pod" in no_stable.table()
