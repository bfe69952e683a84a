"""A plain Prometheus scrape configuration of the API, for a Prometheus without the Operator
(``manifests --scrape-config-file``).

One job discovers the endpoints of the API Service in the deployment's namespace
(``kubernetes_sd_configs``, role ``endpoints``), sends the monitoring token from a file, and
labels each series with ``namespace``, ``service`` and ``pod`` the way a ServiceMonitor's scrape
does, so the alert rules' default selector and the dashboard match it.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from . import contract
from .config import monitoring_token_key
from .naming import names
from .spec import DeploymentSpec

# Where the Prometheus Operator mounts a Secret's key; the same place serves without it.
SECRETS_DIR: Final = "/etc/prometheus/secrets"


def token_file(spec: DeploymentSpec) -> str | None:
    """The path Prometheus reads the monitoring token from, or None when ``/metrics`` is open."""
    token = monitoring_token_key(spec)
    if token is None:
        return None
    secret, key = token
    return f"{SECRETS_DIR}/{secret}/{key}"


def _copy(source: str, target: str) -> dict[str, Any]:
    return {"source_labels": [source], "target_label": target}


def scrape_job(spec: DeploymentSpec) -> dict[str, Any]:
    """The ``scrape_configs`` entry of the API."""
    namespace = spec.target_namespace
    job: dict[str, Any] = {
        "job_name": f"k8s-mlserve/{namespace}/{spec.name}",
        "scrape_interval": spec.monitoring.interval,
        "metrics_path": contract.METRICS_PATH,
        "scheme": "http",
    }
    path = token_file(spec)
    if path is not None:
        job["authorization"] = {"type": "Bearer", "credentials_file": path}
    job["kubernetes_sd_configs"] = [{"role": "endpoints", "namespaces": {"names": [namespace]}}]
    job["relabel_configs"] = [
        {
            # The API Service's port only: not the page's, not the MLflow stack's.
            "source_labels": [
                "__meta_kubernetes_service_name",
                "__meta_kubernetes_endpoint_port_name",
            ],
            "regex": f"{names(spec).api};{contract.PORT_NAME}",
            "action": "keep",
        },
        _copy("__meta_kubernetes_namespace", "namespace"),
        _copy("__meta_kubernetes_service_name", "service"),
        _copy("__meta_kubernetes_pod_name", "pod"),
        _copy("__meta_kubernetes_endpoint_port_name", "endpoint"),
    ]
    return job


def _header(spec: DeploymentSpec) -> str:
    namespace = spec.target_namespace
    lines = [
        f"Scrape configuration of the k8s-mlserve API {spec.name} (namespace {namespace}), for",
        "a Prometheus without the Operator: add the job to scrape_configs: in prometheus.yml.",
        f"Prometheus needs get, list and watch on endpoints, services and pods in {namespace}.",
    ]
    token = monitoring_token_key(spec)
    if token is not None:
        secret, key = token
        lines += [
            "The monitoring token is read from",
            f"  {token_file(spec)}",
            f"Mount Secret {secret} (key {key}) at {SECRETS_DIR}/{secret} in the",
            "Prometheus container; a pod mounts Secrets of its own namespace only, so copy it",
            "into Prometheus' namespace first.",
        ]
    return "".join(f"# {line}\n" for line in lines)


def scrape_config_file(spec: DeploymentSpec) -> str:
    """The job as a ``scrape_configs`` fragment (YAML), with a comment on the token's mount."""
    body = yaml.safe_dump(
        {"scrape_configs": [scrape_job(spec)]},
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    return _header(spec) + body
