"""The ``monitoring.alerts`` section of the deployment spec: which alert rules are rendered, and
their thresholds. Every field is described in ``docs/monitoring.md``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .spec_types import Section

# A Prometheus duration as alert rules take it: one number and one unit.
Duration = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]*)(ms|s|m|h|d|w)$")]
Window = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h|d)$")]
RulesOutput = Literal["prometheus-rule", "file"]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]


class Alerts(Section):
    """Prometheus alert rules over the API's metrics."""

    enabled: bool = Field(True, description="render alert rules at all")
    rules: RulesOutput | None = Field(
        None,
        description="prometheus-rule: a PrometheusRule among the manifests; file: only the plain "
        "rules file of `manifests --rules-file`; unset: a PrometheusRule with service_monitor",
    )
    selector: dict[LabelName, str] | None = Field(
        None,
        description="the labels that pick this deployment's series; by default the namespace and "
        "service labels a ServiceMonitor's scrape gives them",
    )
    error_ratio: float = Field(0.05, gt=0, lt=1, description="share of 5xx answers")
    error_window: Window = "5m"
    error_for: Duration = "5m"
    latency_p99_seconds: float = Field(0.5, gt=0, description="99th percentile of answer time")
    latency_window: Window = "5m"
    latency_for: Duration = "10m"
    not_loaded_for: Duration = Field("10m", description="a pod without a model, or not scraped")
    reload_window: Window = "15m"
    drift_for: Duration = "30m"
    request_log_window: Window = "15m"
    runbook_url: str = Field(
        "docs/monitoring.md",
        min_length=1,
        description="the page the runbook annotations point into, with #<alert> anchors",
    )
