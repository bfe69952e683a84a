from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from k8s_mlserve.drift import build_reference
from k8s_mlserve.drift.histograms import CategoricalHistogram, NumericHistogram
from k8s_mlserve.errors import NotFoundError
from k8s_mlserve.inference.manager import LoadedModel
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.model.bundle import load_bundle, write_bundle
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.server.drift import DriftMonitor
from k8s_mlserve.settings import Settings


def _model(tmp_path: Path, version: str, *, with_reference: bool = True) -> LoadedModel:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=400), "colour": rng.choice(["red", "blue"], size=400)}
    )
    target = (frame["x"] > 0).astype(int).astype(str)
    encode = ColumnTransformer(
        [("x", "passthrough", ["x"]), ("colour", OneHotEncoder(), ["colour"])]
    )
    model = Pipeline([("prepare", encode), ("classify", LogisticRegression())]).fit(frame, target)
    reference = build_reference(frame, InputSchema.infer(frame)) if with_reference else None
    path = write_bundle(
        tmp_path / version, model, frame, name="toy", version=version, reference=reference
    )
    # The monitor only reads the predictor and the version; no batcher is needed here.
    batcher: Any = None
    return LoadedModel(predictor=Predictor(load_bundle(path)), batcher=batcher, source="test")


def _rows(n: int, shift: float = 0.0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    return [
        {"x": float(v) + shift, "colour": str(c)}
        for v, c in zip(rng.normal(size=n), rng.choice(["red", "blue"], size=n), strict=True)
    ]


def _feed(monitor: DriftMonitor, model: LoadedModel, rows: list[dict[str, Any]]) -> None:
    monitor.observe(rows, model.predictor.predict(rows), model)


def test_the_window_follows_predictions_and_the_gauges_follow_reports(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    monitor = DriftMonitor(Settings(drift={"min_rows": 50}), registry)
    model = _model(tmp_path, "v1")
    monitor.model_swapped(model)
    _feed(monitor, model, _rows(200, shift=2.0))
    assert len(monitor.window) == 200
    report = monitor.compute()
    assert report.drifted_features == ["x"]
    value = registry.get_sample_value
    assert value("mlserve_drift_feature_drifted", {"feature": "x"}) == 1
    assert value("mlserve_drift_feature_drifted", {"feature": "colour"}) == 0
    psi = value("mlserve_drift_feature_psi", {"feature": "x"})
    assert psi is not None
    assert psi > 0.25
    assert value("mlserve_drift_window_rows") == 200

    # A new version: its own reference, an empty window, cleared gauges; late answers of the
    # old version stay out.
    newer = _model(tmp_path, "v2")
    monitor.model_swapped(newer)
    assert len(monitor.window) == 0
    assert value("mlserve_drift_feature_drifted", {"feature": "x"}) is None
    _feed(monitor, model, _rows(10))
    assert len(monitor.window) == 0
    assert monitor.compute().verdict == "insufficient data"


def test_histograms_come_from_the_same_window_as_the_report(tmp_path: Path) -> None:
    monitor = DriftMonitor(Settings(drift={"min_rows": 50}), CollectorRegistry())
    model = _model(tmp_path, "v1")
    monitor.model_swapped(model)
    _feed(monitor, model, _rows(200, shift=2.0))
    report, histograms = monitor.compute_with_histograms()
    assert report.drifted_features == ["x"]
    assert [h.name for h in histograms] == ["x", "colour"]
    x, colour = histograms
    assert isinstance(x, NumericHistogram)
    assert sum(x.current) == report.window_size == 200
    assert isinstance(colour, CategoricalHistogram)
    assert sorted(colour.levels) == ["blue", "red"]
    assert sum(colour.current) == pytest.approx(1.0)


def test_without_a_reference_drift_is_unavailable_but_predictions_are_logged(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    settings = Settings(request_log={"dir": logs})
    monitor = DriftMonitor(settings, CollectorRegistry())
    model = _model(tmp_path, "v1", with_reference=False)
    monitor.model_swapped(model)
    with pytest.raises(NotFoundError, match="without a drift reference"):
        monitor.compute()
    with pytest.raises(NotFoundError, match="without a drift reference"):
        monitor.compute_with_histograms()
    _feed(monitor, model, _rows(3))
    assert monitor.request_log is not None
    monitor.request_log.close()
    assert len(next(logs.iterdir()).read_text().splitlines()) == 3


def test_request_log_failures_are_counted(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    registry = CollectorRegistry()
    monitor = DriftMonitor(Settings(request_log={"dir": blocker / "logs"}), registry)
    model = _model(tmp_path, "v1")
    monitor.model_swapped(model)
    _feed(monitor, model, _rows(2))
    _feed(monitor, model, _rows(2))
    assert registry.get_sample_value("mlserve_request_log_errors_total") == 2
    assert len(monitor.window) == 4  # the predictions went on
