"""Prometheus alert rules over the API's metrics, from ``monitoring.alerts``.

One builder, two outputs: a Prometheus Operator PrometheusRule among the manifests, and a plain
rules file (``rule_files:`` of a Prometheus without the Operator). The expressions pick this
deployment's series by the labels a ServiceMonitor's scrape gives them (``namespace``,
``service``), or by ``monitoring.alerts.selector``. Each alert is described in
``docs/monitoring.md``, which the ``runbook`` annotations point into.
"""

from __future__ import annotations

import json
from typing import Any, Final

import yaml

from . import contract, naming
from .naming import labels, names
from .spec import DeploymentSpec
from .spec_alerts import Alerts

PROMETHEUS_RULE_API_VERSION: Final = "monitoring.coreos.com/v1"
# Probes and scrapes are not answers to users: /ready answers 503 on purpose while a pod is not
# ready, and their volume would dilute the share of errors of a quiet API.
_NOT_SERVED: Final = (
    contract.LIVENESS_PATH,
    contract.READINESS_PATH,
    contract.STARTUP_PATH,
    contract.METRICS_PATH,
)


def series_selector(spec: DeploymentSpec, *extra: str) -> str:
    """The PromQL label matchers of this deployment's series, plus ``extra`` matchers."""
    chosen = spec.monitoring.alerts.selector
    if chosen is None:
        chosen = {"namespace": spec.target_namespace, "service": names(spec).api}
    # PromQL string literals take Go's escapes, which JSON's are a subset of.
    matchers = [f"{key}={json.dumps(value)}" for key, value in chosen.items()]
    return "{" + ", ".join([*matchers, *extra]) + "}"


def served_selector(spec: DeploymentSpec, *extra: str) -> str:
    """The matchers of this deployment's answers to users (no probes, no scrapes)."""
    return series_selector(spec, f'route!~"{"|".join(_NOT_SERVED)}"', *extra)


def _rule(
    alert: str,
    expr: str,
    pending: str,
    severity: str,
    summary: str,
    description: str,
    alerts: Alerts,
) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": pending,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook": f"{alerts.runbook_url}#{alert.lower()}",
        },
    }


def alert_rules(spec: DeploymentSpec) -> list[dict[str, Any]]:
    """The alerting rules of the spec (none with ``monitoring.alerts.enabled: false``)."""
    alerts = spec.monitoring.alerts
    if not alerts.enabled:
        return []
    name = spec.name
    every = series_selector(spec)
    served = served_selector(spec)
    errors = served_selector(spec, 'status=~"5.."')
    requests = "mlserve_http_requests_total"
    buckets = "mlserve_http_request_duration_seconds_bucket"
    rules = [
        _rule(
            "MLServeModelNotLoaded",
            f"mlserve_model_loaded{every} == 0 or up{every} == 0",
            alerts.not_loaded_for,
            "critical",
            f"{name}: pod {{{{ $labels.pod }}}} serves no model",
            "The pod has no model loaded, or its /metrics cannot be scraped; it is not ready "
            "and takes no traffic.",
            alerts,
        ),
        _rule(
            "MLServeHighErrorRatio",
            f"sum(rate({requests}{errors}[{alerts.error_window}])) / "
            f"sum(rate({requests}{served}[{alerts.error_window}])) > {alerts.error_ratio:g}",
            alerts.error_for,
            "critical",
            f"{name}: more than {alerts.error_ratio:.0%} of requests fail with 5xx",
            f"{{{{ $value | humanizePercentage }}}} of the answers over {alerts.error_window} "
            "were server errors.",
            alerts,
        ),
        _rule(
            "MLServeHighLatency",
            f"histogram_quantile(0.99, sum by (route, le) "
            f"(rate({buckets}{served}[{alerts.latency_window}]))) > "
            f"{alerts.latency_p99_seconds:g}",
            alerts.latency_for,
            "warning",
            f"{name}: p99 latency of {{{{ $labels.route }}}} above {alerts.latency_p99_seconds:g}s",
            f"The 99th percentile of answer times over {alerts.latency_window} is "
            "{{ $value | humanizeDuration }}.",
            alerts,
        ),
        _rule(
            "MLServeModelReloadFailed",
            f"increase(mlserve_model_reload_failures_total{every}[{alerts.reload_window}]) > 0",
            "0s",
            "warning",
            f"{name}: pod {{{{ $labels.pod }}}} failed to load a new model version",
            f"Loading a new model version failed in the last {alerts.reload_window}; the pod "
            "keeps serving the version it had.",
            alerts,
        ),
        _rule(
            "MLServeFeatureDrift",
            f"max by (feature) (mlserve_drift_feature_drifted{every}) == 1",
            alerts.drift_for,
            "warning",
            f"{name}: feature {{{{ $labels.feature }}}} drifts",
            "The recent requests' values of the feature differ from the model's training data.",
            alerts,
        ),
        _rule(
            "MLServeRequestLogErrors",
            f"increase(mlserve_request_log_errors_total{every}[{alerts.request_log_window}]) > 0",
            "0s",
            "warning",
            f"{name}: pod {{{{ $labels.pod }}}} cannot write its request log",
            f"Request log writes failed in the last {alerts.request_log_window}; predictions "
            "were answered but not recorded for the drift check.",
            alerts,
        ),
    ]
    return rules


def rule_groups(spec: DeploymentSpec) -> list[dict[str, Any]]:
    """The rule groups, as both a PrometheusRule's ``spec.groups`` and a rules file hold them."""
    rules = alert_rules(spec)
    return [{"name": f"k8s-mlserve-{spec.name}", "rules": rules}] if rules else []


def renders_prometheus_rule(spec: DeploymentSpec) -> bool:
    """Whether the alert rules go among the manifests as a PrometheusRule."""
    monitoring = spec.monitoring
    if not monitoring.alerts.enabled:
        return False
    if monitoring.alerts.rules is None:
        return monitoring.service_monitor
    return monitoring.alerts.rules == "prometheus-rule"


def build_prometheus_rule(spec: DeploymentSpec) -> dict[str, Any] | None:
    """A PrometheusRule holding the alert rules, when they go among the manifests."""
    if not renders_prometheus_rule(spec):
        return None
    return {
        "apiVersion": PROMETHEUS_RULE_API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {
            "name": names(spec).prometheus_rule,
            "namespace": spec.target_namespace,
            "labels": {**labels(spec, naming.API), **spec.monitoring.labels},
        },
        "spec": {"groups": rule_groups(spec)},
    }


def rules_file(spec: DeploymentSpec) -> str:
    """The alert rules as a Prometheus rules file (YAML)."""
    return yaml.safe_dump(
        {"groups": rule_groups(spec)}, sort_keys=False, default_flow_style=False, width=100
    )
