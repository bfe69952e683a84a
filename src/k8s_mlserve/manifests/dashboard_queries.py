"""The panels of the Grafana dashboard and their PromQL, in one place: the dashboard is built
from them, ``docs/monitoring.md`` lists them, and the tests run every query against a real
Prometheus.

Queries pick this deployment's series with the alert rules' selector (``monitoring.alerts``), and
take Grafana's ``$__rate_interval`` as the window of every ``rate``.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .alerts import series_selector, served_selector
from .spec import DeploymentSpec

RATE_WINDOW: Final = "$__rate_interval"
QUANTILES: Final = (0.5, 0.9, 0.99)


class Query(NamedTuple):
    """One series of a panel: its PromQL and the legend Grafana draws it under."""

    expr: str
    legend: str


class Panel(NamedTuple):
    """One time series panel of the dashboard."""

    title: str
    unit: str  # a Grafana unit id
    description: str
    queries: tuple[Query, ...]


def _rate(metric: str, selector: str) -> str:
    return f"rate({metric}{selector}[{RATE_WINDOW}])"


def _quantiles(buckets: str, selector: str) -> tuple[Query, ...]:
    return tuple(
        Query(
            f"histogram_quantile({q:g}, sum by (le) ({_rate(buckets, selector)}))",
            f"p{q * 100:g}",
        )
        for q in QUANTILES
    )


def panels(spec: DeploymentSpec) -> list[Panel]:
    """The dashboard's panels, in the order they are laid out (two a row)."""
    every = series_selector(spec)
    served = served_selector(spec)
    errors = served_selector(spec, 'status=~"5.."')
    requests = "mlserve_http_requests_total"
    batch = "mlserve_batch_rows"
    return [
        Panel(
            "Request rate",
            "reqps",
            "Answers to users per second, by route (probes and scrapes left out).",
            (Query(f"sum by (route) ({_rate(requests, served)})", "{{route}}"),),
        ),
        Panel(
            "Error ratio (5xx)",
            "percentunit",
            "Share of the answers that are server errors; MLServeHighErrorRatio fires above "
            "monitoring.alerts.error_ratio.",
            # Without any 5xx there is no error series at all: count it as 0.
            (
                Query(
                    f"(sum({_rate(requests, errors)}) or vector(0)) / "
                    f"sum({_rate(requests, served)})",
                    "5xx",
                ),
            ),
        ),
        Panel(
            "Latency",
            "s",
            "Percentiles of the time to answer, from the request duration histogram.",
            _quantiles("mlserve_http_request_duration_seconds_bucket", served),
        ),
        Panel(
            "Batch size",
            "short",
            "Rows per model call: the mean, and percentiles from the histogram (micro-batching "
            "gathers concurrent requests into one call).",
            (
                Query(
                    f"sum({_rate(batch + '_sum', every)}) / sum({_rate(batch + '_count', every)})",
                    "mean",
                ),
                *_quantiles(batch + "_bucket", every)[1:],
            ),
        ),
        Panel(
            "Predictions by label",
            "short",
            "Predicted rows per second, by predicted label.",
            (Query(f"sum by (label) ({_rate('mlserve_predictions_total', every)})", "{{label}}"),),
        ),
        Panel(
            "Drift (PSI) by feature",
            "short",
            "Population stability index of each feature's recent values against the training "
            "data (above 0.25 is a large shift).",
            (Query(f"max by (feature) (mlserve_drift_feature_psi{every})", "{{feature}}"),),
        ),
        Panel(
            "Drifting features",
            "short",
            "1 while a feature drifts on at least one pod; MLServeFeatureDrift fires after "
            "monitoring.alerts.drift_for.",
            (Query(f"max by (feature) (mlserve_drift_feature_drifted{every})", "{{feature}}"),),
        ),
        Panel(
            "Model version",
            "short",
            "Pods serving each model version (and model file digest): a new line when a pod "
            "loads another model.",
            (
                Query(
                    f"sum by (name, version, sha256) (mlserve_model_info{every})",
                    "{{name}} {{version}} ({{sha256}})",
                ),
            ),
        ),
        Panel(
            "Pods with a model",
            "short",
            "Scraped pods with a model loaded, and pods scraped.",
            (
                Query(f"sum(mlserve_model_loaded{every})", "loaded"),
                Query(f"count(up{every} == 1)", "up"),
            ),
        ),
    ]


def panel_queries(spec: DeploymentSpec) -> dict[str, list[str]]:
    """Panel title -> its PromQL queries."""
    return {panel.title: [q.expr for q in panel.queries] for panel in panels(spec)}
