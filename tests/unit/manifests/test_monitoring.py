"""The ServiceMonitor scrapes /metrics with the token the server checks; the prometheus.io
annotations are only rendered where a scrape without a token can succeed."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import parse_spec, render

from .conftest import counting_source, example_data, make_spec, rendered, variation
from .schema_validation import shipped_versions, validate
from .stack_checks import External, check_stack


def _annotations(**overrides: Any) -> dict[str, str]:
    deployment = rendered(make_spec(**overrides))["Deployment/demo"]
    annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
    return annotations


def _endpoint(**overrides: Any) -> dict[str, Any]:
    monitor = rendered(make_spec(**overrides))["ServiceMonitor/demo"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert isinstance(endpoint, dict)
    return endpoint


def test_service_monitor_only_when_enabled() -> None:
    assert not any(k.startswith("ServiceMonitor/") for k in rendered(make_spec()))
    assert "ServiceMonitor/demo" in rendered(make_spec(monitoring={"service_monitor": True}))


def test_service_monitor_scrapes_metrics_with_the_monitoring_token_of_the_api_secret() -> None:
    objects = rendered(
        make_spec(
            namespace="serving",
            monitoring={"service_monitor": True, "interval": "15s", "labels": {"release": "kps"}},
        )
    )
    monitor = objects["ServiceMonitor/demo"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "serving"
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["serving"]}
    service = objects["Service/demo"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"] == [
        {
            "port": service["spec"]["ports"][0]["name"],
            "path": "/metrics",
            "scheme": "http",
            "interval": "15s",
            "authorization": {
                "type": "Bearer",
                "credentials": {"name": "demo-secrets", "key": "auth__monitoring_token"},
            },
        }
    ]
    # The key is the file the API reads its token from.
    secret = objects["Secret/demo-secrets"]
    assert "auth__monitoring_token" in secret["stringData"]
    api = objects["Deployment/demo"]["spec"]["template"]["spec"]
    mounted = {v["secret"]["secretName"] for v in api["volumes"] if "secret" in v}
    assert mounted == {"demo-secrets"}


def test_service_monitor_reads_an_existing_secret() -> None:
    endpoint = _endpoint(secrets={"existing": "team-secrets"}, monitoring={"service_monitor": True})
    assert endpoint["authorization"]["credentials"] == {
        "name": "team-secrets",
        "key": "auth__monitoring_token",
    }


def test_service_monitor_without_a_token_sends_none() -> None:
    endpoint = _endpoint(secrets={"monitoring_token": None}, monitoring={"service_monitor": True})
    assert "authorization" not in endpoint


def test_the_interval_is_a_duration() -> None:
    with pytest.raises(ConfigurationError, match=r"monitoring\.interval"):
        make_spec(monitoring={"interval": "30"})


def test_annotations_only_where_metrics_needs_no_token() -> None:
    # The default spec generates a monitoring token: an annotation-based scrape would get 401.
    assert not any(k.startswith("prometheus.io/") for k in _annotations())
    assert not any(k.startswith("prometheus.io/") for k in _annotations(secrets={"existing": "s"}))
    open_metrics = _annotations(secrets={"monitoring_token": None})
    assert open_metrics["prometheus.io/scrape"] == "true"
    assert open_metrics["prometheus.io/path"] == "/metrics"
    assert open_metrics["prometheus.io/port"] == "8000"
    # A ServiceMonitor scrapes the pods already.
    monitored = _annotations(
        secrets={"monitoring_token": None}, monitoring={"service_monitor": True}
    )
    assert "prometheus.io/scrape" not in monitored


def test_annotations_when_asked_for_or_refused() -> None:
    # For a scrape job configured with the token as its bearer token.
    assert _annotations(monitoring={"prometheus_scrape": True})["prometheus.io/scrape"] == "true"
    refused = _annotations(
        secrets={"monitoring_token": None}, monitoring={"prometheus_scrape": False}
    )
    assert "prometheus.io/scrape" not in refused


@pytest.mark.parametrize("target", ["1.20", shipped_versions()[-1]])
def test_a_monitored_stack_is_valid_and_sound(target: str) -> None:
    data = variation(example_data("diabetes"), "blue-green", mlflow=True)
    data.update(monitoring={"service_monitor": True}, kubernetes_version=target)
    manifests = render(parse_spec(data), counting_source())
    assert check_stack(manifests, External(secrets={data["ingress"]["tls_secret"]})) == []
    # The ServiceMonitor and PrometheusRule are custom resources: the Kubernetes schemas do not
    # know them.
    custom = {"ServiceMonitor", "PrometheusRule"}
    assert custom <= {m["kind"] for m in manifests}
    builtin = [m for m in manifests if m["kind"] not in custom]
    assert [e for m in builtin for e in validate(m, target)] == []


def test_stack_checks_catch_a_service_monitor_with_the_wrong_key() -> None:
    data = {**example_data("diabetes"), "monitoring": {"service_monitor": True}}
    manifests = render(parse_spec(data), counting_source())
    monitor = next(m for m in manifests if m["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["authorization"]["credentials"]["key"] = "token"
    monitor["spec"]["endpoints"][0]["port"] = "metrics"
    problems = check_stack(manifests)
    assert "ServiceMonitor/diabetes: Secret diabetes-secrets has no key token" in problems
    assert "ServiceMonitor/diabetes: no scraped Service has a port metrics" in problems
