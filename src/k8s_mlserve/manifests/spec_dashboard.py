"""The ``monitoring.dashboard`` section of the deployment spec: the Grafana dashboard over the
API's metrics. Every field is described in ``docs/monitoring.md``."""

from __future__ import annotations

from pydantic import Field

from .spec_types import Labels, Section


def _sidecar_labels() -> dict[str, str]:
    return {"grafana_dashboard": "1"}


class Dashboard(Section):
    """A Grafana dashboard: a ConfigMap for Grafana's dashboard sidecar, or a JSON file."""

    config_map: bool = Field(
        False,
        description="a ConfigMap holding the dashboard, for Grafana's dashboard sidecar; the "
        "JSON file of `manifests --dashboard-file` needs no switch",
    )
    labels: Labels = Field(
        default_factory=_sidecar_labels,
        description="the ConfigMap's labels the sidecar looks for (its `label` and `labelValue`)",
    )
    title: str | None = Field(
        None, min_length=1, max_length=200, description="by default 'k8s-mlserve NAME'"
    )
