"""Alert rules from ``monitoring.alerts``, checked by Prometheus' own ``promtool``: the rules file
is valid, every alert fires on synthetic series and resolves once they recover, and the spec's
thresholds decide. ``promtool`` comes with Debian's ``prometheus`` package; without it the promtool
tests skip, and fail instead under ``CI=true``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from k8s_mlserve.cli import main
from k8s_mlserve.manifests import DeploymentSpec
from k8s_mlserve.manifests.alerts import alert_rules, rules_file

from .conftest import ROOT, example_path, make_spec, rendered

# The labels a ServiceMonitor's scrape puts on every series of the API pods.
TARGET = {"namespace": "serving", "service": "demo", "job": "demo", "endpoint": "http"}
POD = {**TARGET, "pod": "demo-1"}
OTHER_POD = {**TARGET, "pod": "demo-2"}


def _missing(what: str) -> NoReturn:
    """Skip for a missing tool, except in CI, where the tests must run."""
    message = f"{what} to check the alert rules"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        _missing("promtool not found on PATH (apt-get install prometheus)")
    return found


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    matchers = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{matchers}}}", "values": values}


def _histogram(route: str, slow_until: int, minutes: int) -> list[dict[str, str]]:
    """100 answers a minute, between 0.5 and 1 s until ``slow_until``, under 0.1 s after."""
    labels = {**POD, "route": route}
    name = "mlserve_http_request_duration_seconds_bucket"
    fast = f"0x{slow_until} 100+100x{minutes - slow_until - 1}"
    return [
        _series(name, {**labels, "le": "0.1"}, fast),
        _series(name, {**labels, "le": "0.5"}, fast),
        _series(name, {**labels, "le": "1.0"}, f"0+100x{minutes}"),
        _series(name, {**labels, "le": "+Inf"}, f"0+100x{minutes}"),
    ]


def _input_series() -> list[dict[str, str]]:
    """One hour of series, minute by minute, where each alert's condition holds for a while and
    then clears."""
    requests = "mlserve_http_requests_total"
    return [
        # demo-1 has no model for 20 minutes; demo-2 cannot be scraped for 20 minutes.
        _series("mlserve_model_loaded", POD, "0x20 1x40"),
        _series("up", POD, "1x60"),
        _series("mlserve_model_loaded", OTHER_POD, "1x60"),
        _series("up", OTHER_POD, "0x20 1x40"),
        # 10% of the predictions fail for 20 minutes; /ready answers 503 all along, which is
        # a probe, not an error of the API.
        _series(
            requests, {**POD, "route": "/predict", "method": "POST", "status": "200"}, "0+90x60"
        ),
        _series(
            requests,
            {**POD, "route": "/predict", "method": "POST", "status": "500"},
            "0+10x20 200x40",
        ),
        _series(requests, {**POD, "route": "/ready", "method": "GET", "status": "503"}, "0+500x60"),
        *_histogram("/predict", slow_until=20, minutes=60),
        # A reload fails at minute 6; the request log fails three times at minute 6.
        _series("mlserve_model_reload_failures_total", POD, "0x5 1x55"),
        _series("mlserve_request_log_errors_total", POD, "0x5 3x55"),
        # bmi drifts for 40 minutes on one pod; age never does.
        _series("mlserve_drift_feature_drifted", {**POD, "feature": "bmi"}, "1x40 0x20"),
        _series("mlserve_drift_feature_drifted", {**OTHER_POD, "feature": "bmi"}, "0x60"),
        _series("mlserve_drift_feature_drifted", {**POD, "feature": "age"}, "0x60"),
    ]


@dataclass(frozen=True)
class Expected:
    """When an alert fires, with which labels, and when it has resolved."""

    firing_at: str
    resolved_at: str
    labels: list[dict[str, str]]
    value: str = ""  # what ``{{ $value | ... }}`` renders to at ``firing_at``


EXPECTED = {
    "MLServeModelNotLoaded": Expected("15m", "35m", [POD, OTHER_POD]),
    "MLServeHighErrorRatio": Expected("15m", "35m", [{}], value="10%"),
    "MLServeHighLatency": Expected("18m", "35m", [{"route": "/predict"}], value="995ms"),
    "MLServeModelReloadFailed": Expected("10m", "25m", [POD]),
    "MLServeFeatureDrift": Expected("35m", "45m", [{"feature": "bmi"}]),
    "MLServeRequestLogErrors": Expected("10m", "25m", [POD]),
}


def _annotations(rule: dict[str, Any], labels: dict[str, str], value: str) -> dict[str, str]:
    """The rule's annotations as Prometheus renders them for an alert with ``labels``."""

    def render(text: str) -> str:
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
        return re.sub(r"\{\{ \$value \| \w+ \}\}", value, text)

    return {key: render(text) for key, text in rule["annotations"].items()}


def _rule_tests(spec: DeploymentSpec, expected: dict[str, Expected]) -> list[dict[str, Any]]:
    rules = {rule["alert"]: rule for rule in alert_rules(spec)}
    tests: list[dict[str, Any]] = []
    for alert, when in expected.items():
        rule = rules[alert]
        firing = [
            {
                "exp_labels": {**labels, **rule["labels"]},
                "exp_annotations": _annotations(rule, labels, when.value),
            }
            for labels in when.labels
        ]
        tests += [
            {"eval_time": when.firing_at, "alertname": alert, "exp_alerts": firing},
            {"eval_time": when.resolved_at, "alertname": alert, "exp_alerts": []},
        ]
    return tests


def _promtool_test(
    promtool: str, tmp_path: Path, spec: DeploymentSpec, tests: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "rules.yml").write_text(rules_file(spec), encoding="utf-8")
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _input_series(), "alert_rule_test": tests}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def _spec(**alerts: Any) -> DeploymentSpec:
    return make_spec(namespace="serving", monitoring={"alerts": alerts})


def test_the_rules_file_passes_promtool_check(promtool: str, tmp_path: Path) -> None:
    for spec in (_spec(), _spec(selector={"kubernetes_namespace": 'a "quoted" name'})):
        path = tmp_path / "rules.yml"
        path.write_text(rules_file(spec), encoding="utf-8")
        result = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"SUCCESS: {len(EXPECTED)} rules found" in result.stdout


def test_every_alert_fires_and_resolves(promtool: str, tmp_path: Path) -> None:
    spec = _spec()
    assert {rule["alert"] for rule in alert_rules(spec)} == set(EXPECTED)
    result = _promtool_test(promtool, tmp_path, spec, _rule_tests(spec, EXPECTED))
    assert result.returncode == 0, result.stdout + result.stderr


def test_thresholds_come_from_the_spec(promtool: str, tmp_path: Path) -> None:
    # 10% of errors and a p99 of 995 ms fire the defaults, and stay under these thresholds.
    spec = _spec(error_ratio=0.2, latency_p99_seconds=1.0)
    for alert in ("MLServeHighErrorRatio", "MLServeHighLatency"):
        quiet: list[dict[str, Any]] = [{"eval_time": "18m", "alertname": alert, "exp_alerts": []}]
        assert _promtool_test(promtool, tmp_path, _spec(), quiet).returncode != 0
        result = _promtool_test(promtool, tmp_path, spec, quiet)
        assert result.returncode == 0, result.stdout + result.stderr
    # The ratio is over the threshold from minute 1: the default `for` (5m) keeps the alert
    # pending at minute 4, a `for` of 1m has it firing.
    sooner = {"MLServeHighErrorRatio": Expected("4m", "35m", [{}], value="10%")}
    assert _promtool_test(promtool, tmp_path, _spec(), _rule_tests(_spec(), sooner)).returncode
    quick = _spec(error_for="1m")
    result = _promtool_test(promtool, tmp_path, quick, _rule_tests(quick, sooner))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_prometheus_rule_with_the_service_monitor_by_default() -> None:
    assert not any(k.startswith("PrometheusRule/") for k in rendered(make_spec()))
    objects = rendered(
        make_spec(
            namespace="serving", monitoring={"service_monitor": True, "labels": {"release": "kps"}}
        )
    )
    rule = objects["PrometheusRule/demo"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "serving"
    assert rule["metadata"]["labels"]["release"] == "kps"
    # The same rules as the plain rules file.
    assert rule["spec"] == yaml.safe_load(rules_file(_spec()))


@pytest.mark.parametrize(
    ("monitoring", "rendered_rule"),
    [
        ({"alerts": {"rules": "prometheus-rule"}}, True),
        ({"service_monitor": True, "alerts": {"rules": "file"}}, False),
        ({"service_monitor": True, "alerts": {"enabled": False}}, False),
    ],
)
def test_the_rules_output_is_chosen(monitoring: dict[str, Any], rendered_rule: bool) -> None:
    objects = rendered(make_spec(monitoring=monitoring))
    assert ("PrometheusRule/demo" in objects) is rendered_rule


def test_expressions_select_the_deployment() -> None:
    for rule in alert_rules(_spec()):
        assert 'namespace="serving", service="demo"' in rule["expr"]
    chosen = _spec(selector={"kubernetes_namespace": "serving", "app": "demo"})
    for rule in alert_rules(chosen):
        assert 'kubernetes_namespace="serving", app="demo"' in rule["expr"]
        assert "service=" not in rule["expr"]


def test_every_runbook_is_a_section_of_the_monitoring_docs() -> None:
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / "monitoring.md").read_text(), re.M)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    for rule in alert_rules(_spec()):
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/monitoring.md"
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor}"
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_the_runbook_page_is_a_setting() -> None:
    (rule, *_) = alert_rules(_spec(runbook_url="https://docs.example.com/monitoring"))
    assert rule["annotations"]["runbook"] == (
        "https://docs.example.com/monitoring#mlservemodelnotloaded"
    )


def test_manifests_writes_the_rules_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rules.yml"
    spec = example_path("diabetes")
    assert main(["manifests", str(spec), "--rules-file", str(path)]) == 0
    assert "wrote the alert rules" in capsys.readouterr().err
    groups = yaml.safe_load(path.read_text())["groups"]
    assert [r["alert"] for r in groups[0]["rules"]] == list(EXPECTED)


def test_manifests_refuses_a_rules_file_without_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(example_path("diabetes").read_text())
    data.setdefault("monitoring", {})["alerts"] = {"enabled": False}
    spec = tmp_path / "deploy.yaml"
    spec.write_text(yaml.safe_dump(data))
    assert main(["manifests", str(spec), "--rules-file", str(tmp_path / "rules.yml")]) == 2
    assert "monitoring.alerts.enabled is false" in capsys.readouterr().err
    assert not (tmp_path / "rules.yml").exists()
