"""Monitoring of the API by Prometheus: a Prometheus Operator ServiceMonitor scraping ``/metrics``
with the monitoring token, or the ``prometheus.io`` pod annotations.

``/metrics`` answers only with the monitoring token when one is set. A ServiceMonitor carries it,
read from the Secret the API reads it from; annotation-based scrape jobs cannot be given a token
per target, so the annotations are rendered by default only when ``/metrics`` needs none. The
ServiceMonitor is a custom resource, rendered as a plain dict.
"""

from __future__ import annotations

from typing import Any, Final

from . import contract, naming
from .config import monitoring_token_key
from .naming import labels, names
from .spec import DeploymentSpec

SERVICE_MONITOR_API_VERSION: Final = "monitoring.coreos.com/v1"


def scrape_annotations(spec: DeploymentSpec) -> dict[str, str]:
    """The ``prometheus.io`` annotations of the API pods, or none.

    ``monitoring.prometheus_scrape`` decides; unset, they are rendered only when ``/metrics``
    needs no token and no ServiceMonitor scrapes the pods already.
    """
    monitoring = spec.monitoring
    wanted = monitoring.prometheus_scrape
    if wanted is None:
        wanted = not monitoring.service_monitor and monitoring_token_key(spec) is None
    if not wanted:
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(contract.PORT),
        "prometheus.io/path": contract.METRICS_PATH,
    }


def build_service_monitor(spec: DeploymentSpec) -> dict[str, Any] | None:
    """A ServiceMonitor over the API Service, with ``monitoring.service_monitor``."""
    monitoring = spec.monitoring
    if not monitoring.service_monitor:
        return None
    endpoint: dict[str, Any] = {
        "port": contract.PORT_NAME,
        "path": contract.METRICS_PATH,
        "scheme": "http",
        "interval": monitoring.interval,
    }
    token = monitoring_token_key(spec)
    if token is not None:
        secret, key = token
        endpoint["authorization"] = {
            "type": "Bearer",
            "credentials": {"name": secret, "key": key},
        }
    return {
        "apiVersion": SERVICE_MONITOR_API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": {
            "name": names(spec).service_monitor,
            "namespace": spec.target_namespace,
            "labels": {**labels(spec, naming.API), **monitoring.labels},
        },
        "spec": {
            # The API Service's own labels; the Secret must be in the ServiceMonitor's namespace.
            "selector": {"matchLabels": naming.selector(spec, naming.API)},
            "namespaceSelector": {"matchNames": [spec.target_namespace]},
            "endpoints": [endpoint],
        },
    }
