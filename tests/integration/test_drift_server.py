"""Drift seen online: shifted traffic to a running server turns ``/drift`` and the gauges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_predict, train_test_split

from k8s_mlserve.cli import main
from k8s_mlserve.drift import build_reference, prediction_scores
from k8s_mlserve.model.bundle import ResponseSpec, write_bundle
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.testing import ServerProcess, wait_for

from .conftest import API_KEYS, MONITORING_TOKEN

pytestmark = pytest.mark.integration

WINDOW = 300
MONITORING = {"Authorization": f"Bearer {MONITORING_TOKEN}"}


@pytest.fixture(scope="module")
def diabetes_split(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series[str]]:
    frame = pd.read_csv(data_dir / "diabetes.csv")
    features, target = frame.drop(columns="Outcome"), frame["Outcome"].astype(str)
    train, new, y_train, _ = train_test_split(features, target, test_size=0.3, random_state=1)
    return train, new, y_train


@pytest.fixture(scope="module")
def bundle(
    tmp_path_factory: pytest.TempPathFactory,
    diabetes_split: tuple[pd.DataFrame, pd.DataFrame, pd.Series[str]],
) -> Path:
    train, _, target = diabetes_split
    model = RandomForestClassifier(n_estimators=60, min_samples_leaf=3, random_state=0)
    proba = cross_val_predict(model, train, target, cv=3, method="predict_proba")
    model.fit(train, target)
    reference = build_reference(
        train,
        InputSchema.infer(train),
        labels=[str(c) for c in model.classes_[proba.argmax(axis=1)]],
        scores=prediction_scores(proba, model.classes_, "1"),
    )
    return write_bundle(
        tmp_path_factory.mktemp("drift-model") / "diabetes",
        model,
        train,
        name="diabetes",
        version="v1",
        reference=reference,
        response=ResponseSpec(positive_class="1"),
    )


@pytest.fixture(scope="module")
def server(
    bundle: Path, secrets_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    logs = tmp_path_factory.mktemp("logs")
    env = {
        "MLSERVE_MODEL__PATH": str(bundle),
        "MLSERVE_DRIFT__WINDOW_SIZE": str(WINDOW),
        "MLSERVE_DRIFT__MIN_ROWS": "100",
        "MLSERVE_DRIFT__INTERVAL": "0.2",
        "MLSERVE_REQUEST_LOG__DIR": str(logs),
        "MLSERVE_REQUEST_LOG__MAX_BYTES": "20000",
    }
    with ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as process:
        yield process, logs


def _send(server: ServerProcess, frame: pd.DataFrame) -> None:
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    for start in range(0, len(rows), 50):
        response = server.client.post(
            "/predict", json={"instances": rows[start : start + 50]}, headers=server.headers()
        )
        assert response.status_code == 200, response.text


def _drift(server: ServerProcess, *, histograms: bool = False) -> dict[str, Any]:
    url = "/drift?histograms=true" if histograms else "/drift"
    response = server.client.get(url, headers=MONITORING)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _share_above(report: dict[str, Any], feature: str, side: str, threshold: float) -> float:
    """The share of ``side``'s values (reference or current) in bins that start at or above."""
    histogram = next(h for h in report["histograms"] if h["name"] == feature)
    counts = histogram[side]
    above = sum(
        c for c, start in zip(counts, histogram["edges"], strict=False) if start >= threshold
    )
    return float(above) / float(sum(counts))


def _gauges(server: ServerProcess) -> dict[tuple[str, str], float]:
    response = server.client.get("/metrics", headers=MONITORING)
    assert response.status_code == 200
    values: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.startswith("mlserve_drift"):
                values[(sample.name, sample.labels.get("feature", ""))] = sample.value
    return values


def test_shifted_traffic_turns_the_drift_report_and_the_gauges(
    server: tuple[ServerProcess, Path],
    bundle: Path,
    diabetes_split: tuple[pd.DataFrame, pd.DataFrame, pd.Series[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, logs = server
    _, new, _ = diabetes_split

    assert process.client.get("/drift").status_code == 401
    assert _drift(process)["verdict"] == "insufficient data"
    refused = process.client.get("/drift?histograms=maybe", headers=MONITORING)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"field": "histograms", "message": "must be true or false, got 'maybe'"}
    ]

    # Ordinary traffic: new rows from the same population.
    _send(process, new)
    report = _drift(process)
    assert report["window_size"] == len(new)
    assert report["drifted_features"] == []
    assert report["prediction"]["drifted"] is False
    assert report["verdict"] == "no drift"
    assert report["model_version"] == "v1"
    assert "histograms" not in report
    train, _, _ = diabetes_split
    median = float(train["Glucose"].median())
    same = _drift(process, histograms=True)
    assert [h["name"] for h in same["histograms"]] == list(train.columns)
    glucose = next(h for h in same["histograms"] if h["name"] == "Glucose")
    assert sum(glucose["current"]) == len(new)
    reference_above = _share_above(same, "Glucose", "reference", median)
    assert abs(_share_above(same, "Glucose", "current", median) - reference_above) < 0.15
    wait_for(
        lambda: _gauges(process).get(("mlserve_drift_window_rows", "")) == len(new),
        timeout=10,
        what="the drift gauges to cover the window",
    )
    assert _gauges(process)[("mlserve_drift_feature_drifted", "Glucose")] == 0

    # Glucose up by 30: the feature and the model's scores move, the dataset does not.
    shifted = new.copy()
    shifted["Glucose"] += 30
    _send(process, pd.concat([shifted, shifted]))
    report = _drift(process)
    assert report["window_size"] == WINDOW
    assert report["drifted_features"] == ["Glucose"]
    assert report["prediction"]["drifted"] is True
    assert report["dataset_drift"] is False
    assert report["verdict"] == "feature drift"
    after = _drift(process, histograms=True)
    # The edges span both samples, so they move with the window: compare within one answer.
    reference_above = _share_above(after, "Glucose", "reference", median)
    assert _share_above(after, "Glucose", "current", median) > reference_above + 0.2
    wait_for(
        lambda: _gauges(process).get(("mlserve_drift_feature_drifted", "Glucose")) == 1,
        timeout=10,
        what="the Glucose drift gauge to turn",
    )
    gauges = _gauges(process)
    assert gauges[("mlserve_drift_feature_psi", "Glucose")] > 0.25
    assert gauges[("mlserve_drift_feature_drifted", "BMI")] == 0
    assert gauges[("mlserve_drift_dataset_drifted", "")] == 0
    assert gauges[("mlserve_drift_prediction_drifted", "")] == 1

    # Half of the features move: the dataset drifts.
    for name in ["BloodPressure", "BMI", "Age"]:
        moved = shifted[name] * 1.3 + 10
        # integer features take only whole numbers
        shifted[name] = moved.round().astype(int) if name != "BMI" else moved
    _send(process, pd.concat([shifted, shifted]))
    report = _drift(process)
    assert report["dataset_drift"] is True
    assert report["verdict"] == "dataset drift"
    wait_for(
        lambda: _gauges(process).get(("mlserve_drift_dataset_drifted", "")) == 1,
        timeout=10,
        what="the dataset drift gauge to turn",
    )

    # The request log holds the recent rows (in rotated files), and nothing secret.
    text = "".join(path.read_text() for path in sorted(logs.iterdir()))
    assert len(list(logs.iterdir())) > 1
    assert API_KEYS[0] not in text
    assert MONITORING_TOKEN not in text
    first = json.loads(text.splitlines()[0])
    assert set(first) == {"ts", "features", "prediction", "score", "model_version"}
    # ...and the offline check reads it back, to the same verdict as the server's.
    code = main(["drift", "--bundle", str(bundle), "--current", str(logs), "--last", str(WINDOW)])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("verdict:     DATASET DRIFT  4 of 8 features drift: ")
    assert "Glucose" in out
    assert np.isfinite(first["score"])
