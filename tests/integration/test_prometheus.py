"""A real Prometheus (Debian's ``prometheus``) scrapes a running server through the scrape job and
the alert rules a spec renders: the series arrive with the labels the rules select, shifted
traffic turns the drift alert pending and then firing, every query of the Grafana dashboard has
data, and the dashboard's panels are drawn from them. Without ``prometheus`` on PATH the test
skips, except under ``CI=true``, where it fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pandas as pd
import pytest
import yaml

from k8s_mlserve.manifests import DeploymentSpec, parse_spec
from k8s_mlserve.manifests.alerts import rules_file
from k8s_mlserve.manifests.contract import MONITORING_TOKEN_FILE
from k8s_mlserve.manifests.dashboard_queries import RATE_WINDOW, panel_queries, panels
from k8s_mlserve.manifests.scrape_config import scrape_job
from k8s_mlserve.testing import ServerProcess, StopWaiting, free_port, wait_for

from ..browser import missing_tool
from ..dashboard_picture import Series, draw_dashboard
from .conftest import API_KEYS

pytestmark = pytest.mark.integration

NAMESPACE = "serving"
NAME = "diabetes"
MATCHERS = f'namespace="{NAMESPACE}", service="{NAME}"'
SELECTOR = f"{{{MATCHERS}}}"
WINDOW = 300
# Grafana's $__rate_interval for a 1 s scrape: a few scrapes.
RATE_INTERVAL = "10s"
DRIFT = "MLServeFeatureDrift"


def _spec() -> DeploymentSpec:
    """The deployment as Prometheus sees it here: scraped every second, drift alerting soon."""
    return parse_spec(
        {
            "name": NAME,
            "namespace": NAMESPACE,
            "image": {"repository": "registry.example.com/k8s-mlserve", "tag": "0.1.0"},
            "monitoring": {"interval": "1s", "alerts": {"rules": "file", "drift_for": "3s"}},
        }
    )


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, url: str, log: IO[bytes]) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=10.0)
        self._log = log

    def _data(self, path: str, **params: str) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self._data("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(self, expr: str, start: float, end: float) -> list[Series]:
        data = self._data(
            "/api/v1/query_range", query=expr, start=str(start), end=str(end), step="1"
        )
        return [
            Series(
                item["metric"],
                [float(t) - start for t, _ in item["values"]],
                [float(v) for _, v in item["values"]],
            )
            for item in data["result"]
        ]

    def alerts(self, name: str) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self._data("/api/v1/alerts")["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == name]

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


@pytest.fixture(scope="module")
def server(registries: dict[str, Path], secrets_dir: Path) -> Iterator[ServerProcess]:
    env = {
        "MLSERVE_MODEL__PATH": str(registries["diabetes"]),
        "MLSERVE_DRIFT__WINDOW_SIZE": str(WINDOW),
        "MLSERVE_DRIFT__MIN_ROWS": "100",
        "MLSERVE_DRIFT__INTERVAL": "0.2",
    }
    with ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as process:
        yield process


def _config(spec: DeploymentSpec, server: ServerProcess, secrets_dir: Path, rules: Path) -> Any:
    """prometheus.yml: the spec's scrape job, with the target that Kubernetes discovery would find
    (this server, with the ``__meta_*`` labels of the API Service's endpoint) and the token file
    of the secrets directory; the spec's alert rules."""
    job = scrape_job(spec)
    assert job.pop("kubernetes_sd_configs")[0]["role"] == "endpoints"
    job["static_configs"] = [
        {
            "targets": [f"127.0.0.1:{server.port}"],
            "labels": {
                "__meta_kubernetes_namespace": NAMESPACE,
                "__meta_kubernetes_service_name": NAME,
                "__meta_kubernetes_endpoint_port_name": "http",
                "__meta_kubernetes_pod_name": f"{NAME}-0",
            },
        }
    ]
    job["authorization"]["credentials_file"] = str(secrets_dir / MONITORING_TOKEN_FILE)
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [job],
    }


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        missing_tool("prometheus not found on PATH (apt-get install prometheus) to scrape the API")
    return found


@pytest.fixture(scope="module")
def prometheus(
    prometheus_binary: str,
    server: ServerProcess,
    secrets_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Prometheus]:
    root = tmp_path_factory.mktemp("prometheus")
    spec = _spec()
    rules = root / "rules.yml"
    rules.write_text(rules_file(spec))
    config = root / "prometheus.yml"
    config.write_text(yaml.safe_dump(_config(spec, server, secrets_dir, rules), sort_keys=False))
    port = free_port()
    with (root / "prometheus.log").open("w+b") as log:
        process = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running = Prometheus(f"http://127.0.0.1:{port}", log)
        try:

            def ready() -> bool:
                if process.poll() is not None:
                    failure = RuntimeError(f"prometheus exited:\n{running.log()}")
                    raise StopWaiting(failure)
                return running.client.get("/-/ready").status_code == 200

            wait_for(ready, timeout=30, what="prometheus to be ready")
            # Discovery hands over the targets a few seconds after the start.
            wait_for(
                lambda: running.query(f"up{SELECTOR}"),
                timeout=30,
                what="the first scrape",
                describe=running.log,
            )
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            running.client.close()


def _send(server: ServerProcess, frame: pd.DataFrame, sizes: tuple[int, ...]) -> int:
    """The rows of ``frame`` in requests of ``sizes`` rows in turn, spread over a few seconds;
    returns the number of requests."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    start, turn = 0, 0
    while start < len(rows):
        size = sizes[turn % len(sizes)]
        response = server.client.post(
            "/predict", json={"instances": rows[start : start + size]}, headers=server.headers()
        )
        assert response.status_code == 200, response.text
        start, turn = start + size, turn + 1
        time.sleep(0.25)  # a curve on the graphs rather than one step
    return turn


def _has(prometheus: Prometheus, expr: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: prometheus.query(expr)


def test_prometheus_scrapes_the_api_alerts_on_drift_and_feeds_the_dashboard(
    prometheus: Prometheus, server: ServerProcess, data_dir: Path, tmp_path: Path
) -> None:
    spec = _spec()
    frame = pd.read_csv(data_dir / "diabetes.csv").drop(columns="Outcome")
    started = time.time()
    assert server.client.get("/predict").status_code == 405  # a 4xx: not an error of the API

    # Ordinary traffic: the series arrive, scraped with the token, labelled as the rules select.
    sent = _send(server, frame.sample(WINDOW, random_state=0), sizes=(1, 10, 40))
    for series in (
        "mlserve_http_requests_total",
        "mlserve_http_request_duration_seconds_bucket",
        "mlserve_drift_feature_psi",
    ):
        wait_for(
            _has(prometheus, f"{series}{SELECTOR}"),
            timeout=30,
            what=f"Prometheus to have {series}{SELECTOR}",
            describe=prometheus.log,
        )
    (up,) = prometheus.query(f"up{SELECTOR}")
    assert up["value"][1] == "1"
    assert up["metric"]["pod"] == f"{NAME}-0"
    assert up["metric"]["job"] == f"k8s-mlserve/{NAMESPACE}/{NAME}"
    predicted = f'mlserve_http_requests_total{{{MATCHERS}, route="/predict", status="200"}}'
    wait_for(
        _has(prometheus, f"sum({predicted}) == {sent}"),
        timeout=30,
        what=f"Prometheus to count the {sent} predict requests",
    )
    wait_for(
        _has(prometheus, f"mlserve_drift_window_rows{SELECTOR} == {WINDOW}"),
        timeout=30,
        what="the drift window to fill with ordinary rows",
    )
    drifted = prometheus.query(f"mlserve_drift_feature_drifted{SELECTOR}")
    assert {r["metric"]["feature"] for r in drifted} == set(frame.columns)
    assert all(r["value"][1] == "0" for r in drifted)
    assert prometheus.alerts(DRIFT) == []

    # Glucose up by 30: the drift gauge turns, and the alert goes pending, then firing.
    shifted = frame.sample(WINDOW, random_state=1)
    shifted["Glucose"] += 30
    _send(server, shifted, sizes=(40, 5))
    firing = wait_for(
        lambda: [a for a in prometheus.alerts(DRIFT) if a["state"] == "firing"],
        timeout=60,
        interval=0.5,
        what=f"{DRIFT} to fire",
        describe=prometheus.log,
    )
    assert "Glucose" in {a["labels"]["feature"] for a in firing}
    assert all(a["labels"]["severity"] == "warning" for a in firing)
    # Prometheus records each state of an alert as an ALERTS series: pending came first.
    history = prometheus.query(f'ALERTS{{alertname="{DRIFT}", feature="Glucose"}}[5m]')
    first = {r["metric"]["alertstate"]: float(r["values"][0][0]) for r in history}
    assert first["pending"] < first["firing"]

    # Every query of the dashboard has data, with Grafana's variable given a value.
    for title, exprs in panel_queries(spec).items():
        for expr in exprs:
            assert prometheus.query(expr.replace(RATE_WINDOW, RATE_INTERVAL)), f"{title}: {expr}"

    # ...and the panels drawn from them.
    end = time.time()
    picture = draw_dashboard(
        panels(spec),
        lambda expr: prometheus.query_range(expr.replace(RATE_WINDOW, RATE_INTERVAL), started, end),
        tmp_path / "dashboard.png",
        f"k8s-mlserve {NAME}: ordinary traffic, then Glucose shifted by +30",
    )
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
