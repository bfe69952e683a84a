"""The Grafana dashboard: panels over the API's metrics with a data source variable, every query
valid PromQL (``promtool``) selecting the deployment, and a ConfigMap for Grafana's sidecar."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from k8s_mlserve.cli import main
from k8s_mlserve.manifests import parse_spec, render
from k8s_mlserve.manifests.dashboard import dashboard, dashboard_uid
from k8s_mlserve.manifests.dashboard_queries import RATE_WINDOW, panel_queries, panels
from k8s_mlserve.manifests.spec_dashboard import Dashboard

from ...browser import missing_tool
from .conftest import ROOT, counting_source, example_data, example_path, make_spec, rendered
from .schema_validation import shipped_versions, validate

PANELS = [
    "Request rate",
    "Error ratio (5xx)",
    "Latency",
    "Batch size",
    "Predictions by label",
    "Drift (PSI) by feature",
    "Drifting features",
    "Model version",
    "Pods with a model",
]


def test_the_panels_and_their_queries() -> None:
    spec = make_spec(namespace="serving")
    board = dashboard(spec)
    assert [p["title"] for p in board["panels"]] == PANELS
    queries = panel_queries(spec)
    for panel in board["panels"]:
        assert [t["expr"] for t in panel["targets"]] == queries[panel["title"]]
        assert [t["refId"] for t in panel["targets"]] == ["A", "B", "C"][: len(panel["targets"])]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["gridPos"]["w"] == 12
    latency = queries["Latency"]
    assert [q.split(",")[0] for q in latency] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.9",
        "histogram_quantile(0.99",
    ]
    assert "mlserve_model_info" in queries["Model version"][0]
    assert "or vector(0)" in queries["Error ratio (5xx)"][0]
    (variable,) = board["templating"]["list"]
    assert variable["name"] == "datasource"
    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"


def test_queries_select_the_deployment_like_the_alerts() -> None:
    for exprs in panel_queries(make_spec(namespace="serving")).values():
        for expr in exprs:
            assert 'namespace="serving", service="demo"' in expr
    chosen = make_spec(monitoring={"alerts": {"selector": {"app": "demo"}}})
    for exprs in panel_queries(chosen).values():
        for expr in exprs:
            assert '{app="demo"' in expr
            assert "service=" not in expr


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        missing_tool("promtool not found on PATH (apt-get install prometheus) to check queries")
    # Each query as a recording rule, with Grafana's variable replaced: promtool parses them.
    rules = [
        {"record": f"dashboard:query:{number}", "expr": expr.replace(RATE_WINDOW, "5m")}
        for number, expr in enumerate(
            e for exprs in panel_queries(make_spec()).values() for e in exprs
        )
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_uid_is_unique_and_short() -> None:
    long = "a" * 40
    uids = {
        dashboard_uid(make_spec(name=long, namespace="one")),
        dashboard_uid(make_spec(name=long, namespace="two")),
        dashboard_uid(make_spec(name="demo", namespace="one")),
    }
    assert len(uids) == 3
    assert all(len(uid) <= 40 for uid in uids)


def test_a_config_map_for_the_sidecar_only_when_enabled() -> None:
    assert "ConfigMap/demo-dashboard" not in rendered(make_spec())
    spec = make_spec(
        namespace="serving",
        monitoring={"labels": {"release": "kps"}, "dashboard": {"config_map": True}},
    )
    config_map = rendered(spec)["ConfigMap/demo-dashboard"]
    assert config_map["metadata"]["namespace"] == "serving"
    labels = config_map["metadata"]["labels"]
    assert labels["grafana_dashboard"] == "1"
    assert labels["release"] == "kps"
    assert labels["app.kubernetes.io/instance"] == "demo"
    (key,) = config_map["data"]
    assert key == "k8s-mlserve-serving-demo.json"
    assert json.loads(config_map["data"][key]) == dashboard(spec)


def test_the_sidecar_labels_and_title_are_settings() -> None:
    spec = make_spec(
        monitoring={
            "dashboard": {
                "config_map": True,
                "labels": {"grafana.example.com/dashboard": "ml"},
                "title": "Credit scoring",
            }
        }
    )
    config_map = rendered(spec)["ConfigMap/demo-dashboard"]
    labels = config_map["metadata"]["labels"]
    assert labels["grafana.example.com/dashboard"] == "ml"
    assert "grafana_dashboard" not in labels
    (text,) = config_map["data"].values()
    assert json.loads(text)["title"] == "Credit scoring"


@pytest.mark.parametrize("target", ["1.20", shipped_versions()[-1]])
def test_the_config_map_is_valid(target: str) -> None:
    data = example_data("diabetes")
    data.update(monitoring={"dashboard": {"config_map": True}}, kubernetes_version=target)
    manifests = render(parse_spec(data), counting_source())
    (config_map,) = [m for m in manifests if m["metadata"]["name"] == "diabetes-dashboard"]
    assert validate(config_map, target) == []


def test_manifests_writes_the_dashboard_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dashboard.json"
    assert main(["manifests", str(example_path("diabetes")), "--dashboard-file", str(path)]) == 0
    assert "wrote the Grafana dashboard" in capsys.readouterr().err
    board = json.loads(path.read_text())
    assert [p["title"] for p in board["panels"]] == PANELS
    assert board["title"] == "k8s-mlserve diabetes"


def test_the_docs_list_every_panel_and_field() -> None:
    text = (ROOT / "docs" / "monitoring.md").read_text()
    for panel in panels(make_spec()):
        assert f"\n| {panel.title} |" in text, panel.title
    for field in Dashboard.model_fields:
        assert f"\n| `{field}` |" in text, field
    assert "(images/monitoring-dashboard.png)" in text
    assert (ROOT / "docs" / "images" / "monitoring-dashboard.png").is_file()
