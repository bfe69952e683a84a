"""The Grafana dashboard of a deployment, from ``monitoring.dashboard``: its JSON (``manifests
--dashboard-file``) and a ConfigMap that Grafana's dashboard sidecar loads.

The panels and their queries are in ``dashboard_queries``. The dashboard's data source is a
template variable (any Prometheus of the Grafana), so the JSON imports unchanged anywhere.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from kubernetes import client

from . import naming
from .dashboard_queries import Panel, panels
from .naming import labels, names
from .spec import DeploymentSpec
from .versions import api_version

SCHEMA_VERSION: Final = 39
_DATASOURCE: Final = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH: Final = 12  # of Grafana's 24 columns: two panels a row
_HEIGHT: Final = 8


def dashboard_uid(spec: DeploymentSpec) -> str:
    """A uid unique to the namespace and name, within Grafana's 40 characters."""
    digest = hashlib.sha256(f"{spec.target_namespace}/{spec.name}".encode()).hexdigest()[:8]
    return f"mlserve-{spec.name[:23].rstrip('-')}-{digest}"


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": _DATASOURCE,
        "gridPos": {
            "h": _HEIGHT,
            "w": _WIDTH,
            "x": (index % 2) * _WIDTH,
            "y": (index // 2) * _HEIGHT,
        },
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {
                "refId": chr(ord("A") + number),
                "datasource": _DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
            }
            for number, query in enumerate(panel.queries)
        ],
    }


def dashboard(spec: DeploymentSpec) -> dict[str, Any]:
    """The Grafana dashboard model (what its JSON export holds)."""
    title = spec.monitoring.dashboard.title or f"k8s-mlserve {spec.name}"
    return {
        "uid": dashboard_uid(spec),
        "title": title,
        "description": f"The API of {spec.name} in namespace {spec.target_namespace}.",
        "tags": ["k8s-mlserve"],
        "timezone": "browser",
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                }
            ]
        },
        "panels": [_panel(index, panel) for index, panel in enumerate(panels(spec))],
    }


def dashboard_json(spec: DeploymentSpec) -> str:
    return json.dumps(dashboard(spec), indent=2) + "\n"


def dashboard_file_name(spec: DeploymentSpec) -> str:
    """The ConfigMap key, which the sidecar writes as a file: unique per namespace and name."""
    return f"k8s-mlserve-{spec.target_namespace}-{spec.name}.json"


def build_dashboard_config_map(spec: DeploymentSpec) -> client.V1ConfigMap | None:
    """The dashboard in a ConfigMap for Grafana's sidecar, with ``dashboard.config_map``."""
    monitoring = spec.monitoring
    if not monitoring.dashboard.config_map:
        return None
    return client.V1ConfigMap(
        api_version=api_version("ConfigMap", spec.kubernetes_version),
        kind="ConfigMap",
        metadata=client.V1ObjectMeta(
            name=names(spec).dashboard,
            namespace=spec.target_namespace,
            labels={
                **labels(spec, naming.API),
                **monitoring.labels,
                **monitoring.dashboard.labels,
            },
        ),
        data={dashboard_file_name(spec): dashboard_json(spec)},
    )
