"""The detector's rules on synthetic data: verdicts, the dataset share, the minimum window, rows
as dicts, windows, the multiple-testing correction and the JSON report.

What it finds on the real datasets is tested in tests/integration/drift/test_detector.py.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.drift import (
    DriftDetector,
    DriftReport,
    DriftWindow,
    ReferenceProfile,
    build_reference,
)
from k8s_mlserve.errors import DatasetError
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.settings import DriftSettings

from ...drift_cases import Case


def _dose_up(case: Case) -> pd.DataFrame:
    """The held-out rows with ``dose`` (which decides the outcome) moved up by 1.5 deviations."""
    current = case.holdout.copy()
    current["dose"] += 30
    return current


def test_one_drifting_feature_is_feature_drift_and_moves_the_predictions(
    synthetic: Case,
) -> None:
    current = _dose_up(synthetic)
    labels, scores = synthetic.predict(current)
    report = DriftDetector(synthetic.reference).compare(current, labels, scores)
    assert report.drifted_features == ["dose"]
    dose = next(f for f in report.features if f.name == "dose")
    assert dose.test == "ks"
    assert dose.verdict == "drift"
    assert dose.current_mean == pytest.approx(current["dose"].mean())
    assert report.drift_share == pytest.approx(1 / 6)
    assert not report.dataset_drift
    assert report.verdict == "feature drift"
    assert report.message.startswith("feature drift: 1 of 6 features drift (dose)")
    assert report.prediction is not None
    assert report.prediction.drifted
    assert report.any_drift
    # Without the model's outputs there is nothing to say about the predictions.
    assert DriftDetector(synthetic.reference).compare(current).prediction is None


def test_new_rows_like_the_training_rows_are_no_drift(synthetic: Case) -> None:
    labels, scores = synthetic.predict(synthetic.holdout)
    report = DriftDetector(synthetic.reference).compare(synthetic.holdout, labels, scores)
    assert report.drifted_features == []
    assert report.prediction is not None
    assert not report.prediction.drifted
    assert report.verdict == "no drift"
    assert not report.any_drift


def test_outputs_that_move_while_the_inputs_do_not_are_prediction_drift(synthetic: Case) -> None:
    labels, scores = synthetic.predict(synthetic.holdout)
    report = DriftDetector(synthetic.reference).compare(
        synthetic.holdout, ["yes"] * len(labels), np.clip(scores + 0.4, 0, 1)
    )
    assert report.drifted_features == []
    assert report.prediction is not None
    assert report.prediction.drifted
    assert report.verdict == "prediction drift"
    assert report.any_drift


def test_dataset_drifts_when_half_the_features_do(synthetic: Case) -> None:
    current = synthetic.train.sample(n=300, random_state=0)
    for name in ["dose", "age", "weight"]:
        current[name] = current[name] * 1.3 + 10
    report = DriftDetector(synthetic.reference).compare(current)
    assert sorted(report.drifted_features) == ["age", "dose", "weight"]
    assert report.drift_share == pytest.approx(0.5)
    assert report.dataset_drift
    assert report.verdict == "dataset drift"
    stricter = DriftDetector(synthetic.reference, DriftSettings(dataset_share=0.6)).compare(current)
    assert not stricter.dataset_drift
    assert stricter.verdict == "feature drift"
    assert stricter.drifted_features == report.drifted_features


def test_below_the_minimum_window_there_is_insufficient_data(synthetic: Case) -> None:
    detector = DriftDetector(synthetic.reference, DriftSettings(min_rows=100))
    shifted = synthetic.holdout.head(99).copy()
    shifted["dose"] += 100
    report = detector.compare(shifted)
    assert report.verdict == "insufficient data"
    assert report.window_size == 99
    assert report.features == []
    assert not report.any_drift
    assert report.message == "insufficient data: only 99 rows, at least 100 needed"
    assert detector.compare(synthetic.holdout.head(100)).verdict != "insufficient data"


def test_rows_as_dicts_give_the_same_report_as_a_frame(synthetic: Case) -> None:
    frame = synthetic.holdout
    # As the server sees them: JSON objects, missing values as null.
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    assert any(row["income"] is None for row in rows)
    detector = DriftDetector(synthetic.reference)
    by_frame = detector.compare(frame)
    by_rows = detector.compare(rows)
    assert [f.p_value for f in by_rows.features] == pytest.approx(
        [f.p_value for f in by_frame.features]
    )
    income = next(f for f in by_rows.features if f.name == "income")
    assert income.current_missing_rate == pytest.approx(frame["income"].isna().mean())


def test_a_window_feeds_the_detector(synthetic: Case) -> None:
    window = DriftWindow(size=150)
    current = _dose_up(synthetic)
    labels, scores = synthetic.predict(current)
    rows: list[dict[str, Any]] = json.loads(current.to_json(orient="records"))
    for start in range(0, len(rows), 16):
        end = start + 16
        window.extend(rows[start:end], labels[start:end], scores[start:end].tolist())
    report = DriftDetector(synthetic.reference).compare_window(window)
    assert report.window_size == 150
    assert "dose" in report.drifted_features
    assert report.prediction is not None
    assert report.prediction.scores is not None
    assert report.prediction.scores.rows == 150


def test_a_small_but_significant_change_is_a_warning_unless_min_psi_is_zero() -> None:
    rng = np.random.default_rng(4)
    train = pd.DataFrame({"x": rng.normal(size=20_000)})
    reference = ReferenceProfile.model_validate(
        build_reference(train, InputSchema.infer(train), sample_size=5000)
    )
    current = pd.DataFrame({"x": rng.normal(loc=0.12, size=20_000)})
    feature = DriftDetector(reference).compare(current).features[0]
    assert feature.adjusted_p_value is not None
    assert feature.adjusted_p_value < 0.05
    assert feature.psi is not None
    assert feature.psi < 0.1
    assert feature.verdict == "warning"
    assert not feature.drifted
    trusting = DriftDetector(reference, DriftSettings(min_psi=0)).compare(current)
    assert trusting.features[0].verdict == "drift"


def test_the_correction_is_applied_across_features(synthetic: Case) -> None:
    current = _dose_up(synthetic)
    plain = DriftDetector(synthetic.reference, DriftSettings(correction="none")).compare(current)
    bonferroni = DriftDetector(synthetic.reference, DriftSettings(correction="bonferroni")).compare(
        current
    )
    features = len(synthetic.reference.features)
    for raw, adjusted in zip(plain.features, bonferroni.features, strict=True):
        assert raw.p_value is not None
        assert adjusted.adjusted_p_value is not None
        assert raw.adjusted_p_value == raw.p_value
        assert adjusted.adjusted_p_value == pytest.approx(min(1.0, raw.p_value * features))


def test_a_frame_without_a_feature_is_refused(synthetic: Case) -> None:
    with pytest.raises(DatasetError, match="dose"):
        DriftDetector(synthetic.reference).compare(synthetic.holdout.drop(columns="dose"))


def test_the_report_is_json_ready(synthetic: Case) -> None:
    report = DriftDetector(synthetic.reference).compare(synthetic.holdout)
    again = DriftReport.model_validate_json(report.model_dump_json())
    assert again == report
    assert report.thresholds.correction == "benjamini-hochberg"
    assert report.reference_rows == len(synthetic.train)


def test_a_feature_nobody_sent_is_insufficient_data_not_no_drift(synthetic: Case) -> None:
    current = synthetic.holdout[["dose"]].assign(dose=np.nan)
    reference = ReferenceProfile.model_validate(
        build_reference(synthetic.train[["dose"]], InputSchema.infer(synthetic.train[["dose"]]))
    )
    report = DriftDetector(reference).compare(current)
    assert report.features[0].verdict == "insufficient data"
    assert report.verdict == "insufficient data"
    assert not report.any_drift


@pytest.mark.parametrize(
    ("changes", "reads"),
    [
        ({"verdict": "no drift"}, "feature drift"),
        ({"drifted_features": []}, "no drift"),
        ({"dataset_drift": True}, "dataset drift"),
    ],
)
def test_a_report_whose_verdict_contradicts_its_fields_is_refused(
    synthetic: Case, changes: dict[str, Any], reads: str
) -> None:
    report = DriftDetector(synthetic.reference).compare(_dose_up(synthetic))
    assert report.verdict == "feature drift"
    with pytest.raises(ValueError, match=f"contradicts the report: '{reads}'"):
        DriftReport.model_validate({**report.model_dump(), **changes})
