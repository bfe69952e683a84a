"""The plain Prometheus scrape configuration: the API Service's endpoints in the deployment's
namespace, with the monitoring token from a file and the labels the alert rules select on;
checked by Prometheus' own ``promtool check config``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mlserve.cli import main
from k8s_mlserve.manifests.scrape_config import scrape_config_file, scrape_job, token_file

from ...browser import missing_tool
from .conftest import example_path, make_spec


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing_tool("promtool not found on PATH (apt-get install prometheus) to check the config")
    return found


def _relabelled(job: dict[str, Any]) -> dict[str, str]:
    """source label -> the target label it is copied to."""
    return {
        step["source_labels"][0]: step["target_label"]
        for step in job["relabel_configs"]
        if "target_label" in step
    }


def test_the_job_keeps_the_api_service_of_the_namespace() -> None:
    job = scrape_job(make_spec(namespace="serving", monitoring={"interval": "15s"}))
    assert job["job_name"] == "k8s-mlserve/serving/demo"
    assert job["scrape_interval"] == "15s"
    assert job["metrics_path"] == "/metrics"
    assert job["kubernetes_sd_configs"] == [
        {"role": "endpoints", "namespaces": {"names": ["serving"]}}
    ]
    (keep,) = [step for step in job["relabel_configs"] if step.get("action") == "keep"]
    assert keep["source_labels"] == [
        "__meta_kubernetes_service_name",
        "__meta_kubernetes_endpoint_port_name",
    ]
    assert keep["regex"] == "demo;http"


def test_series_get_the_labels_the_alert_rules_select() -> None:
    labels = _relabelled(scrape_job(make_spec(namespace="serving")))
    assert labels["__meta_kubernetes_namespace"] == "namespace"
    assert labels["__meta_kubernetes_service_name"] == "service"
    assert labels["__meta_kubernetes_pod_name"] == "pod"


def test_the_token_is_read_from_the_mounted_secret_key() -> None:
    spec = make_spec(namespace="serving")
    path = "/etc/prometheus/secrets/demo-secrets/auth__monitoring_token"
    assert token_file(spec) == path
    assert scrape_job(spec)["authorization"] == {"type": "Bearer", "credentials_file": path}
    text = scrape_config_file(spec)
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Mount Secret demo-secrets (key auth__monitoring_token)" in comments
    existing = make_spec(secrets={"existing": "team-secrets"})
    assert token_file(existing) == "/etc/prometheus/secrets/team-secrets/auth__monitoring_token"


def test_open_metrics_need_no_token() -> None:
    spec = make_spec(secrets={"monitoring_token": None})
    assert token_file(spec) is None
    assert "authorization" not in scrape_job(spec)
    assert "Mount Secret" not in scrape_config_file(spec)


def _check_config(
    promtool: str, path: Path, job: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    path.write_text(yaml.safe_dump({"global": {"scrape_interval": "30s"}, "scrape_configs": [job]}))
    return subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("example", ["diabetes", "churn"])
def test_promtool_accepts_the_config(promtool: str, tmp_path: Path, example: str) -> None:
    fragment = tmp_path / "scrape.yml"
    code = main(["manifests", str(example_path(example)), "--scrape-config-file", str(fragment)])
    assert code == 0
    assert fragment.read_text().startswith("# Scrape configuration of the k8s-mlserve API")
    # The fragment inside a minimal prometheus.yml, with the token file where it points.
    (job,) = yaml.safe_load(fragment.read_text())["scrape_configs"]
    token = tmp_path / "token"
    token.write_text("secret\n")
    job["authorization"]["credentials_file"] = str(token)
    result = _check_config(promtool, tmp_path / "prometheus.yml", job)
    if "field kubernetes_sd_configs not found" in result.stderr + result.stdout:
        # Debian's Prometheus is built without Kubernetes discovery: check everything else, with
        # the target that discovery would find and the labels it would give it.
        assert job.pop("kubernetes_sd_configs") == [
            {"role": "endpoints", "namespaces": {"names": [example]}}
        ]
        job["static_configs"] = [
            {
                "targets": ["10.0.0.1:8000"],
                "labels": {
                    "__meta_kubernetes_namespace": example,
                    "__meta_kubernetes_service_name": example,
                    "__meta_kubernetes_endpoint_port_name": "http",
                    "__meta_kubernetes_pod_name": f"{example}-0",
                },
            }
        ]
        result = _check_config(promtool, tmp_path / "prometheus.yml", job)
    assert result.returncode == 0, result.stdout + result.stderr
