"""Every route and every bad-input case over real HTTP, for all three examples."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve import load_bundle
from k8s_mlserve.model.registry import resolve_bundle_path
from k8s_mlserve.testing import ServerProcess
from k8s_mlserve.training.examples import churn, diabetes, iris

from .conftest import API_KEYS, MONITORING_TOKEN

pytestmark = pytest.mark.integration

EXAMPLE_ROWS: dict[str, dict[str, Any]] = {
    "iris": iris.EXAMPLE_ROW,
    "diabetes": diabetes.EXAMPLE_ROW,
    "churn": churn.EXAMPLE_ROW,
}
NUMERIC_FIELD = {"iris": "petal_length", "diabetes": "Glucose", "churn": "MonthlyCharges"}


def post(
    server: ServerProcess, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return server.client.post(
        "/predict", json=body, headers=server.headers() if headers is None else headers
    )


def post_raw(server: ServerProcess, raw: bytes) -> httpx.Response:
    headers = {**server.headers(), "Content-Type": "application/json"}
    return server.client.post("/predict", content=raw, headers=headers)


def error_fields(response: httpx.Response) -> list[str]:
    return [d["field"] for d in response.json()["error"]["details"]]


# -- predictions and the contracts clients rely on --------------------------------------------


def test_single_prediction_keeps_the_example_contract(
    example_server: tuple[str, ServerProcess],
) -> None:
    name, server = example_server
    response = post(server, EXAMPLE_ROWS[name])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "v1"
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    if name == "iris":
        assert body["label"] == "setosa"
        assert set(body["probabilities"]) == {"setosa", "versicolor", "virginica"}
    elif name == "diabetes":
        assert isinstance(body["has_diabetes"], bool)
        assert body["has_diabetes"] == (body["label"] == 1)
        assert 0.0 <= body["probability"] <= 1.0
        expected = (
            "low"
            if body["probability"] < 0.3
            else "moderate"
            if body["probability"] < 0.7
            else "high"
        )
        assert body["risk_level"] == expected
    else:
        assert body["label"] in {"Yes", "No"}
        assert body["will_churn"] == (body["label"] == "Yes")
        assert body["churn_probability"] == pytest.approx(body["probabilities"]["Yes"], abs=1e-6)


def test_instances_return_one_result_each_in_order(
    example_server: tuple[str, ServerProcess],
) -> None:
    name, server = example_server
    row = EXAMPLE_ROWS[name]
    field = NUMERIC_FIELD[name]
    rows = [{**row, field: row[field] * factor} for factor in (0.5, 1.0, 1.5, 2.0)]
    response = post(server, {"instances": rows})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 4
    singles = [post(server, r).json() for r in rows]
    assert predictions == singles


# -- authentication --------------------------------------------------------------------------


def test_api_keys_headers_and_rotation(example_server: tuple[str, ServerProcess]) -> None:
    name, server = example_server
    row = EXAMPLE_ROWS[name]
    for key in API_KEYS:
        assert post(server, row, headers={"X-API-Key": key}).status_code == 200
        assert post(server, row, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for headers in (
        {},
        {"X-API-Key": "wrong"},
        {"Authorization": "Basic abc"},
        {"X-API-Key": API_KEYS[0][:-1]},
    ):
        response = post(server, row, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "missing or invalid API key"


def test_probes_and_info_need_no_key(example_server: tuple[str, ServerProcess]) -> None:
    _, server = example_server
    client = server.client
    assert client.get("/health").json() == {"status": "ok", "model_loaded": True}
    assert client.get("/ready").json() == {"status": "ready", "model_version": "v1"}
    assert client.get("/startup").status_code == 200
    info = client.get("/").json()
    assert info["auth"] == "enabled"
    assert info["model"]["version"] == "v1"
    text = client.get("/").text
    assert all(key not in text for key in (*API_KEYS, MONITORING_TOKEN))


def test_version_reports_provenance(
    example_server: tuple[str, ServerProcess], registries: dict[str, Path]
) -> None:
    name, server = example_server
    body = server.client.get("/version").json()
    meta = load_bundle(resolve_bundle_path(registries[name])).metadata
    assert body["name"] == meta.name == f"{name}-model"
    assert body["version"] == "v1"
    assert body["algorithm"] == meta.algorithm
    assert body["trained_at"] == meta.created_at.isoformat()
    assert body["run_id"] is None
    assert "accuracy" in body["metrics"]


def test_metrics_need_the_monitoring_token(example_server: tuple[str, ServerProcess]) -> None:
    name, server = example_server
    post(server, EXAMPLE_ROWS[name])
    assert server.client.get("/metrics").status_code == 401
    assert (
        server.client.get(
            "/metrics", headers={"Authorization": f"Bearer {API_KEYS[0]}"}
        ).status_code
        == 401
    )
    response = server.client.get(
        "/metrics", headers={"Authorization": f"Bearer {MONITORING_TOKEN}"}
    )
    assert response.status_code == 200
    text = response.text
    assert 'mlserve_http_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'mlserve_http_requests_total{method="POST",route="/predict",status="401"}' in text
    assert "mlserve_http_request_duration_seconds_bucket" in text
    assert "mlserve_predictions_total{label=" in text
    info_line = next(line for line in text.splitlines() if line.startswith("mlserve_model_info{"))
    assert f'name="{name}-model"' in info_line
    assert 'version="v1"' in info_line


def test_openapi_and_docs_describe_the_real_fields(
    example_server: tuple[str, ServerProcess],
) -> None:
    name, server = example_server
    document = server.client.get("/openapi.json").json()
    row_schema = document["components"]["schemas"]["Row"]
    assert list(row_schema["properties"]) == list(EXAMPLE_ROWS[name])
    assert row_schema["additionalProperties"] is False
    assert "/predict" in document["paths"]
    page = server.client.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert all(field in page.text for field in EXAMPLE_ROWS[name])


# -- bad input never gives a 500 -------------------------------------------------------------


def test_malformed_json_is_400(example_server: tuple[str, ServerProcess]) -> None:
    _, server = example_server
    for raw in (b"{not json", b"", b'{"a": 1,}', b"\xff\xfe"):
        response = post_raw(server, raw)
        assert response.status_code == 400, raw
        assert response.json()["error"]["status"] == 400
    assert post(server, [1, 2, 3]).status_code == 400


def test_schema_violations_are_422_naming_the_field(
    example_server: tuple[str, ServerProcess],
) -> None:
    name, server = example_server
    row = EXAMPLE_ROWS[name]
    field = NUMERIC_FIELD[name]

    missing = {k: v for k, v in row.items() if k != field}
    response = post(server, missing)
    assert response.status_code == 422
    assert error_fields(response) == [field]
    assert "field required" in response.text

    response = post(server, {**row, "unexpected": 1})
    assert response.status_code == 422
    assert error_fields(response) == ["unexpected"]

    response = post(server, {**row, field: "abc"})
    assert response.status_code == 422
    assert error_fields(response) == [field]
    assert "got string 'abc'" in response.text

    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        raw = json.dumps({**row, field: 1.0}).replace("1.0", constant.decode(), 1).encode()
        response = post_raw(server, raw)
        assert response.status_code == 422, raw
        assert error_fields(response) == [field]
        assert "finite" in response.text

    response = post(server, {"instances": [row, {**row, field: None}]})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["row"] == 1


def test_categories_are_checked_against_training(example_server: tuple[str, ServerProcess]) -> None:
    name, server = example_server
    if name == "churn":
        response = post(server, {**EXAMPLE_ROWS["churn"], "Contract": "Weekly"})
        assert response.status_code == 422
        assert error_fields(response) == ["Contract"]
        assert "never seen in training" in response.text
        assert "Month-to-month" in response.text
    else:  # every feature is numeric: a category name is a type error
        response = post(server, {**EXAMPLE_ROWS[name], NUMERIC_FIELD[name]: "high"})
        assert response.status_code == 422
        assert "must be a" in response.text


def test_oversized_bodies_are_413(example_server: tuple[str, ServerProcess]) -> None:
    name, server = example_server
    row = json.dumps(EXAMPLE_ROWS[name]).encode()
    huge = b'{"instances": [' + b",".join([row] * (1_100_000 // len(row))) + b"]}"
    assert len(huge) > 1_048_576
    assert post_raw(server, huge).status_code == 413
    too_many = {"instances": [EXAMPLE_ROWS[name]] * 1001}
    response = post(server, too_many)
    assert response.status_code == 413
    assert "limit of 1000" in response.text


def test_probes_answer_while_a_prediction_runs(example_server: tuple[str, ServerProcess]) -> None:
    name, server = example_server
    big = {"instances": [EXAMPLE_ROWS[name]] * 1000}
    with ThreadPoolExecutor(max_workers=4) as pool:
        heavy = [pool.submit(post, server, big) for _ in range(3)]
        health = server.client.get("/health")
        assert health.status_code == 200
        assert all(f.result().status_code == 200 for f in heavy)


# -- lifecycle -------------------------------------------------------------------------------


def test_no_model_means_503_with_the_reason(tmp_path: Path) -> None:
    """Inside Kubernetes a missing path is waited for: the volume may be mounted late."""
    env = {"MLSERVE_MODEL__PATH": str(tmp_path / "empty"), "KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    with ServerProcess(env, wait="/startup") as server:
        assert server.client.get("/health").json() == {"status": "ok", "model_loaded": False}
        ready = server.client.get("/ready")
        assert ready.status_code == 503
        assert "does not exist" in ready.json()["reason"]
        assert server.client.get("/v2/health/ready").status_code == 503
        response = server.client.post("/predict", json={"a": 1})
        assert response.status_code == 503
        assert "no model loaded" in response.json()["error"]["message"]
        assert server.client.get("/version").status_code == 503
        assert server.process is not None
        assert server.process.poll() is None, "still waiting"
        assert "no model could be loaded; retrying" in server.log()


def test_a_mistyped_model_path_fails_at_once_outside_kubernetes(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env["MLSERVE_MODEL__WAIT_FOR_PAHT"] = "true"  # misspelled: no wait, and a warning says so
    missing = tmp_path / "nonexistent" / "iris"
    result = subprocess.run(
        [sys.executable, "-m", "k8s_mlserve", "serve", "--bundle", str(missing)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a guard against waiting for ever, not a measure of speed
    )
    assert result.returncode == 2, result.stderr
    assert (
        "unknown setting MLSERVE_MODEL__WAIT_FOR_PAHT (did you mean MLSERVE_MODEL__WAIT_FOR_PATH?)"
        in result.stderr
    )
    assert (
        f"error: model path {missing} does not exist (nor does its parent directory "
        f"{missing.parent}): check MLSERVE_MODEL__PATH (serve --bundle), or set "
        "MLSERVE_MODEL__WAIT_FOR_PATH=true" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_tampered_bundle_is_refused(tmp_path: Path, registries: dict[str, Path]) -> None:
    import shutil

    copy = tmp_path / "iris"
    shutil.copytree(registries["iris"], copy)
    with (resolve_bundle_path(copy) / "model.joblib").open("ab") as handle:
        handle.write(b"x")
    with ServerProcess({"MLSERVE_MODEL__PATH": str(copy)}, wait="/startup") as server:
        ready = server.client.get("/ready")
        assert ready.status_code == 503
        assert "sha256" in ready.json()["reason"]


def test_auth_off_is_said_loudly(registries: dict[str, Path]) -> None:
    with ServerProcess({"MLSERVE_MODEL__PATH": str(registries["iris"])}) as server:
        assert "authentication is OFF" in server.client.get("/").json()["auth"]
        assert server.client.post("/predict", json=EXAMPLE_ROWS["iris"]).status_code == 200
        assert server.client.get("/metrics").status_code == 200
        log = server.log()
    assert "authentication is OFF" in log


def test_invalid_settings_fail_at_start_naming_the_setting(registries: dict[str, Path]) -> None:
    env = {"MLSERVE_MODEL__PATH": str(registries["iris"]), "MLSERVE_SERVER__MAX_BODY_BYTES": "tiny"}
    import os

    result = subprocess.run(
        [sys.executable, "-m", "k8s_mlserve", "serve"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MLSERVE_SERVER__MAX_BODY_BYTES" in result.stderr


def test_sigterm_turns_ready_off_finishes_in_flight_and_exits_0(
    registries: dict[str, Path],
) -> None:
    server = ServerProcess(
        {"MLSERVE_MODEL__PATH": str(registries["diabetes"]), "MLSERVE_SERVER__DRAIN_SECONDS": "2"}
    )
    server.start()
    try:
        big = {"instances": [EXAMPLE_ROWS["diabetes"]] * 1000}
        results: list[int] = []
        started = threading.Event()

        def send() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                started.set()
                results.append(client.post("/predict", json=big).status_code)

        senders = [threading.Thread(target=send) for _ in range(4)]
        for thread in senders:
            thread.start()
        started.wait()
        assert server.process is not None
        server.process.send_signal(15)
        server.wait_until("/ready", status=503, timeout=2)
        assert server.client.get("/ready").json()["reason"] == "shutting down"
        assert server.client.get("/health").status_code == 200
        for thread in senders:
            thread.join()
        assert server.process.wait(30) == 0
        assert results == [200, 200, 200, 200]
    finally:
        server.stop()
