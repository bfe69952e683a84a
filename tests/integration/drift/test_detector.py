"""What the detector finds on the real datasets: the shifts it must flag, and the resamples and new
rows of the same population it must leave alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from k8s_mlserve.drift import DriftDetector, ReferenceProfile, build_reference
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.settings import DriftSettings

from ...drift_cases import Case
from .conftest import read_churn, read_diabetes

RESAMPLES = 50


def _flag_counts(
    case: Case, rows: int, shift: Callable[[pd.DataFrame], None], repeats: int = 20
) -> Counter[str]:
    """How many of ``repeats`` shifted samples of the training rows flag each feature."""
    detector = DriftDetector(case.reference)
    counts: Counter[str] = Counter()
    for seed in range(repeats):
        sample = case.train.sample(n=rows, random_state=seed)
        shift(sample)
        counts.update(detector.compare(sample).drifted_features)
    return counts


def test_diabetes_glucose_shift_is_flagged_on_glucose_only(diabetes: Case) -> None:
    def shift(frame: pd.DataFrame) -> None:
        frame["Glucose"] += 30

    counts = _flag_counts(diabetes, 200, shift)
    assert counts.pop("Glucose") == 20
    assert sum(counts.values()) <= 2, counts


def test_diabetes_glucose_shift_on_new_rows_moves_the_predictions(diabetes: Case) -> None:
    current = diabetes.holdout.copy()
    current["Glucose"] += 30
    labels, scores = diabetes.predict(current)
    report = DriftDetector(diabetes.reference).compare(current, labels, scores)
    glucose = next(f for f in report.features if f.name == "Glucose")
    assert glucose.test == "ks"
    assert glucose.drifted
    assert glucose.adjusted_p_value is not None
    assert glucose.adjusted_p_value < 1e-10
    assert glucose.psi is not None
    assert glucose.psi > 0.25
    # One feature in eight is not a dataset drift, but the model's scores moved with it.
    assert not report.dataset_drift
    assert report.verdict == "feature drift"
    assert report.prediction is not None
    assert report.prediction.drifted
    assert report.prediction.scores is not None
    assert report.prediction.scores.drifted
    assert report.any_drift


def test_new_rows_from_the_same_population_leave_the_predictions_alone(diabetes: Case) -> None:
    labels, scores = diabetes.predict(diabetes.holdout)
    report = DriftDetector(diabetes.reference).compare(diabetes.holdout, labels, scores)
    assert "Glucose" not in report.drifted_features
    assert not report.dataset_drift
    assert report.prediction is not None
    assert not report.prediction.drifted
    assert report.verdict == ("feature drift" if report.drifted_features else "no drift")


def test_churn_monthly_charges_scaled_is_flagged_on_that_feature_only(churn: Case) -> None:
    def shift(frame: pd.DataFrame) -> None:
        frame["MonthlyCharges"] *= 1.4

    counts = _flag_counts(churn, 500, shift)
    assert counts.pop("MonthlyCharges") == 20
    # TotalCharges correlates with MonthlyCharges, but it was left alone.
    assert counts["TotalCharges"] == 0
    assert sum(counts.values()) <= 2, counts


def test_churn_monthly_charges_scaled_on_new_rows(churn: Case) -> None:
    current = churn.holdout.copy()
    current["MonthlyCharges"] *= 1.4
    report = DriftDetector(churn.reference).compare(current)
    charges = next(f for f in report.features if f.name == "MonthlyCharges")
    assert charges.drifted
    assert charges.psi is not None
    assert charges.psi > 0.25
    assert charges.current_mean == pytest.approx(churn.holdout["MonthlyCharges"].mean() * 1.4)
    assert report.prediction is None


def test_churn_contract_mix_change_is_flagged(churn: Case) -> None:
    def shift(frame: pd.DataFrame) -> None:
        rng = np.random.default_rng(len(frame))
        frame.loc[rng.random(len(frame)) < 0.8, "Contract"] = "Month-to-month"

    counts = _flag_counts(churn, 500, shift)
    assert counts.pop("Contract") == 20
    assert sum(counts.values()) <= 2, counts
    current = churn.holdout.copy()
    shift(current)
    contract = next(
        f for f in DriftDetector(churn.reference).compare(current).features if f.name == "Contract"
    )
    assert contract.test == "chi2"
    assert contract.drifted


def test_dataset_drifts_when_half_the_features_do(diabetes: Case) -> None:
    current = diabetes.train.sample(n=300, random_state=0)
    for name in ["Glucose", "BloodPressure", "BMI", "Age"]:
        current[name] = current[name] * 1.3 + 10
    report = DriftDetector(diabetes.reference).compare(current)
    assert sorted(report.drifted_features) == ["Age", "BMI", "BloodPressure", "Glucose"]
    assert report.drift_share == pytest.approx(0.5)
    assert report.dataset_drift
    assert report.verdict == "dataset drift"
    stricter = DriftDetector(diabetes.reference, DriftSettings(dataset_share=0.6)).compare(current)
    assert not stricter.dataset_drift
    assert stricter.verdict == "feature drift"


@pytest.mark.parametrize(("case_name", "rows"), [("diabetes", 200), ("churn", 500)])
def test_resamples_of_the_training_data_are_rarely_flagged(
    request: pytest.FixtureRequest, case_name: str, rows: int
) -> None:
    case: Case = request.getfixturevalue(case_name)
    detector = DriftDetector(case.reference)
    flagged = 0
    for seed in range(RESAMPLES):
        sample = case.train.sample(n=rows, random_state=seed)
        report = detector.compare(sample)
        assert not report.dataset_drift
        flagged += bool(report.drifted_features)
    assert flagged <= RESAMPLES // 10, f"{flagged} of {RESAMPLES} resamples flagged"


@pytest.mark.parametrize("reader", [read_diabetes, read_churn], ids=["diabetes", "churn"])
def test_new_rows_from_the_same_population_are_rarely_flagged(
    data_dir: Path, reader: Callable[[Path], tuple[pd.DataFrame, pd.Series[str]]]
) -> None:
    # Fifty random 70/30 splits: the reference from one part, the other part as new traffic.
    features, _ = reader(data_dir)
    flagged = 0
    for seed in range(RESAMPLES):
        train, current = train_test_split(features, test_size=0.3, random_state=seed)
        reference = ReferenceProfile.model_validate(
            build_reference(train, InputSchema.infer(train), seed=seed)
        )
        report = DriftDetector(reference).compare(current)
        assert not report.dataset_drift
        flagged += bool(report.drifted_features)
    assert flagged <= RESAMPLES // 10, f"{flagged} of {RESAMPLES} splits flagged"
