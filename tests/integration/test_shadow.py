"""Shadow scoring against a real ``mlflow server``: the iris champion (logistic regression, alias
``champion``) serves while the challenger (random forest, alias ``challenger``) scores every
request; ``/shadow`` reports what both models, loaded here through MLflow, give offline. A
challenger that fails is counted while the champion answers, and a full queue drops requests."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris

from k8s_mlserve.model.bundle import write_bundle
from k8s_mlserve.testing import MlflowServer, ServerProcess, wait_for
from k8s_mlserve.training.examples.iris import FEATURES
from k8s_mlserve.training.runner import fit_example
from k8s_mlserve.training.tracking import log_and_register

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
MODEL = "iris-shadow"
API_KEY = "shadow-tests-key-0123456789"
TOKEN = "shadow-tests-token"
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true"}
DECIMALS = 6  # answered probabilities are rounded so; the comparison is of the answers


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"), env=QUIET)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in QUIET.items():
            patch.setenv(name, value)
        try:
            yield server.start()
        finally:
            server.stop()


@pytest.fixture(scope="module")
def registered(tracking: MlflowServer) -> dict[str, str]:
    """Logistic regression registered as version 1 (champion), a forest as 2 (challenger)."""
    versions = {}
    for alias, algorithm in (("champion", "logreg"), ("challenger", "rf")):
        trained = fit_example("iris", algorithm=algorithm)
        tracked = log_and_register(trained, tracking_uri=tracking.url, model_name=MODEL)
        versions[alias] = tracked.version
    client = MlflowClient(tracking.url)
    for alias, version in versions.items():  # whatever the scores, these aliases
        client.set_registered_model_alias(MODEL, alias, version)
    return versions


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets")
    (path / "auth__api_keys").write_text(API_KEY + "\n")
    (path / "auth__monitoring_token").write_text(TOKEN + "\n")
    return path


@pytest.fixture(scope="module")
def doubles() -> Iterator[ModuleType]:
    """``shadow_doubles``, imported under the name the server process will import it by."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(HERE))
        yield importlib.import_module("shadow_doubles")


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return pd.DataFrame(load_iris().data, columns=FEATURES)


def rows_of(frame: pd.DataFrame) -> list[dict[str, float]]:
    return [{str(name): float(value) for name, value in row.items()} for _, row in frame.iterrows()]


def serve(tracking: MlflowServer, secrets: Path, **settings: str | Path) -> ServerProcess:
    env = {
        **QUIET,
        "MLFLOW_TRACKING_URI": tracking.url,
        "MLSERVE_MODEL__URI": f"models:/{MODEL}@champion",
        # scikit-learn on both sides: the offline figures below come from scikit-learn too.
        "MLSERVE_MODEL__RUNTIME": "sklearn",
        "MLSERVE_MODEL__POLL_INTERVAL": "3600",
        "MLSERVE_DRIFT__INTERVAL": "3600",
        "MLSERVE_SHADOW__SAMPLE_RATE": "1.0",
        "PYTHONPATH": str(HERE),
    }
    env.update({f"MLSERVE_{key.upper()}": str(value) for key, value in settings.items()})
    return ServerProcess(env, secrets_dir=secrets, api_key=API_KEY).start()


def shadow(server: ServerProcess) -> dict[str, Any]:
    response = server.client.get("/shadow", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_challenger(server: ServerProcess) -> dict[str, Any]:
    wait_for(lambda: shadow(server)["challenger"] is not None, timeout=120, what="the challenger")
    return shadow(server)


def wait_for_rows(server: ServerProcess, rows: int) -> dict[str, Any]:
    def counted() -> bool:
        body = shadow(server)
        return bool(body["rows_scored"] + body["rows_dropped"] + body["errors"] >= rows)

    wait_for(counted, timeout=180, what=f"{rows} rows counted by /shadow")
    return shadow(server)


def predict(server: ServerProcess, payload: dict[str, Any]) -> dict[str, Any]:
    response = server.client.post("/predict", json=payload, headers=server.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def offline(frame: pd.DataFrame) -> dict[str, Any]:
    """The comparison of both registered models on ``frame``, computed here (MLflow's tracking
    URI from the environment)."""
    answers = {}
    for alias in ("champion", "challenger"):
        model = mlflow.sklearn.load_model(f"models:/{MODEL}@{alias}")
        proba = np.round(model.predict_proba(frame), DECIMALS)
        classes = [str(c) for c in model.classes_]
        labels = [classes[i] for i in proba.argmax(axis=1)]
        answers[alias] = (labels, [dict(zip(classes, p, strict=True)) for p in proba.tolist()])
    mine, theirs = answers["champion"], answers["challenger"]
    agree = [a == b for a, b in zip(mine[0], theirs[0], strict=True)]
    deltas = [
        max(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in {*p, *q})
        for p, q in zip(mine[1], theirs[1], strict=True)
    ]
    table: dict[str, dict[str, int]] = {}
    for a, b in zip(mine[0], theirs[0], strict=True):
        table.setdefault(a, {})[b] = table.get(a, {}).get(b, 0) + 1
    return {
        "agreement": sum(agree) / len(agree),
        "mean_abs_delta": sum(deltas) / len(deltas),
        "max_abs_delta": max(deltas),
        "labels": table,
    }


def test_the_report_equals_the_comparison_computed_offline(
    tracking: MlflowServer,
    registered: dict[str, str],
    secrets: Path,
    iris: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = serve(
        tracking,
        secrets,
        shadow__model=f"models:/{MODEL}@challenger",
        request_log__dir=tmp_path / "log",
        model__cache_dir=tmp_path / "cache",
    )
    try:
        body = wait_for_challenger(server)
        assert body["champion"] == {"name": MODEL, "version": f"v{registered['champion']}"}
        assert body["challenger"] == {
            "name": MODEL,
            "version": f"v{registered['challenger']}",
            "uri": f"models:/{MODEL}@challenger",
        }
        rows = rows_of(iris)
        for row in rows:
            predict(server, row)
        for start in range(0, len(rows), 25):
            predict(server, {"instances": rows[start : start + 25]})
        body = wait_for_rows(server, 2 * len(rows))
        requests = len(rows) + len(rows) // 25
        log_lines = tmp_path / "log"
        wait_for(lambda: len(shadow_lines(log_lines)) == requests, timeout=60, what="the log lines")
        metrics = server.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        server.stop()

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking.url)
    expected = offline(iris)
    assert (body["rows_scored"], body["rows_dropped"], body["errors"]) == (300, 0, 0)
    assert body["challenger_error"] is None
    assert body["agreement"] == pytest.approx(expected["agreement"], abs=1e-9)
    assert body["mean_abs_delta"] == pytest.approx(expected["mean_abs_delta"], abs=1e-6)
    assert body["max_abs_delta"] == pytest.approx(expected["max_abs_delta"], abs=1e-6)
    doubled = {a: {b: 2 * n for b, n in row.items()} for a, row in expected["labels"].items()}
    assert body["labels"] == doubled
    assert expected["agreement"] < 1  # the forest and the regression differ somewhere
    assert body["latency_seconds"]["p50"] is not None

    # The request log holds both answers of each request: the figures again, from it alone.
    lines = shadow_lines(log_lines)
    agree = total = 0
    for line in lines:
        pairs = zip(line["champion"]["predictions"], line["challenger"]["predictions"], strict=True)
        for mine, theirs in pairs:
            agree += mine["label"] == theirs["label"]
            total += 1
    assert total == 300
    assert agree / total == pytest.approx(expected["agreement"], abs=1e-9)

    text = metrics.text
    assert 'mlserve_shadow_rows_total{outcome="scored"} 300.0' in text
    assert f"mlserve_shadow_agreements_total {float(agree)}" in text
    assert "mlserve_shadow_abs_delta_count 300.0" in text
    assert f"mlserve_shadow_latency_seconds_count {float(requests)}" in text
    assert "mlserve_shadow_info{" in text
    assert (tmp_path / "cache" / ".shadow" / MODEL / "current").read_text().strip() == (
        f"v{registered['challenger']}"
    )
    assert (tmp_path / "cache" / MODEL / "current").read_text().strip() == (
        f"v{registered['champion']}"
    )


def shadow_lines(directory: Path) -> list[dict[str, Any]]:
    lines = []
    for path in directory.glob("*.jsonl"):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line]
    return [line for line in lines if line.get("type") == "shadow"]


def misbehaving_bundle(doubles: ModuleType, path: Path, gate: Path | None = None) -> Path:
    """A bundle of the iris regression wrapped in ``shadow_doubles.Misbehaving``."""
    trained = fit_example("iris", algorithm="logreg")
    model = doubles.Misbehaving(trained.model, gate)
    return write_bundle(
        path, model, trained.train_frame, name="iris-double", version="d1", onnx=False
    )


def test_a_failing_challenger_is_counted_and_every_answer_is_200(
    tracking: MlflowServer,
    registered: dict[str, str],
    secrets: Path,
    iris: pd.DataFrame,
    doubles: ModuleType,
    tmp_path: Path,
) -> None:
    bundle = misbehaving_bundle(doubles, tmp_path / "failing")
    server = serve(tracking, secrets, shadow__model=bundle)
    try:
        wait_for_challenger(server)
        rows = rows_of(iris.iloc[::10])
        answers = [predict(server, row) for row in rows]  # each asserts a 200
        answers.append(predict(server, {"instances": rows[:5]}))
        body = wait_for_rows(server, len(rows) + 5)
        metrics = server.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        server.stop()
    assert len(answers) == len(rows) + 1
    assert (body["rows_scored"], body["rows_dropped"], body["errors"]) == (0, 0, len(rows) + 5)
    assert body["agreement"] is None
    assert body["challenger"]["version"] == "d1"
    assert f'mlserve_shadow_rows_total{{outcome="error"}} {float(len(rows) + 5)}' in metrics.text


def test_a_slow_challenger_with_a_full_queue_drops_requests(
    tracking: MlflowServer,
    registered: dict[str, str],
    secrets: Path,
    iris: pd.DataFrame,
    doubles: ModuleType,
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    bundle = misbehaving_bundle(doubles, tmp_path / "slow", gate)
    server = serve(tracking, secrets, shadow__model=bundle, shadow__queue_size="1")
    try:
        wait_for_challenger(server)
        rows = rows_of(iris.iloc[::10])
        for row in rows:  # the challenger holds the first request until the gate opens
            predict(server, row)
        gate.touch()
        body = wait_for_rows(server, len(rows))
    finally:
        server.stop()
    # One request in the challenger, one in the queue: every other was dropped.
    assert body["rows_dropped"] >= len(rows) - 2
    assert body["rows_dropped"] > 0
    assert body["rows_scored"] + body["rows_dropped"] + body["errors"] == len(rows)
    assert body["errors"] == 0
