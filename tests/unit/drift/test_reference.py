"""The drift reference: feature and prediction profiles, sampling, and reading it from a bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.drift import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    build_reference,
    load_reference,
    prediction_scores,
)
from k8s_mlserve.errors import BundleError, BundleNotFoundError, DatasetError
from k8s_mlserve.model.schema import InputSchema

from ...drift_cases import Case
from .conftest import make_rows


def test_numeric_profile() -> None:
    features, _ = make_rows(2000)
    raw = build_reference(features, InputSchema.infer(features), sample_size=300)
    profile = ReferenceProfile.model_validate(raw).feature("weight")
    assert isinstance(profile, NumericProfile)
    assert profile.rows == 2000
    assert profile.missing_rate == 0
    assert profile.mean == pytest.approx(features["weight"].mean())
    assert profile.std == pytest.approx(features["weight"].std())
    assert sum(profile.proportions) == pytest.approx(1.0)
    assert len(profile.proportions) == len(profile.edges) + 1
    # Ten quantile bins of a continuous column, each with a tenth of the rows.
    assert profile.proportions == pytest.approx([0.1] * 10)
    assert profile.edges == sorted(profile.edges)
    assert len(profile.sample) == 300
    assert set(profile.sample) <= set(features["weight"].astype(float))


def test_categorical_and_missing_values() -> None:
    features, _ = make_rows(2000)
    reference = ReferenceProfile.model_validate(
        build_reference(features, InputSchema.infer(features))
    )
    plan = reference.feature("plan")
    assert isinstance(plan, CategoricalProfile)
    assert plan.counts == features["plan"].value_counts().to_dict()
    assert sum(plan.shares.values()) == pytest.approx(1.0)
    income = reference.feature("income")
    assert isinstance(income, NumericProfile)
    missing = int(features["income"].isna().sum())
    assert missing > 0
    assert income.missing_rate == pytest.approx(missing / 2000)
    assert len(income.sample) == 1000  # bounded, out of nearly 2000 values
    assert reference.names == list(features.columns)


def test_sampling_is_reproducible_with_a_seed() -> None:
    features, _ = make_rows(2000)
    schema = InputSchema.infer(features)
    first = build_reference(features, schema, seed=7)
    again = build_reference(features, schema, seed=7)
    other = build_reference(features, schema, seed=8)
    weight = next(f for f in first["features"] if f["name"] == "weight")
    assert weight["sample"] == next(f for f in again["features"] if f["name"] == "weight")["sample"]
    assert weight["sample"] != next(f for f in other["features"] if f["name"] == "weight")["sample"]


def test_levels_never_seen_are_listed_with_zero() -> None:
    frame = pd.DataFrame({"colour": ["red", "red", "blue"]})
    schema = InputSchema.infer(pd.DataFrame({"colour": ["red", "blue", "green"]}))
    profile = ReferenceProfile.model_validate(build_reference(frame, schema)).feature("colour")
    assert isinstance(profile, CategoricalProfile)
    assert profile.counts == {"blue": 1, "green": 0, "red": 2}


def test_prediction_profile(synthetic: Case) -> None:
    predictions = synthetic.reference.predictions
    assert predictions.labels is not None
    assert predictions.scores is not None
    assert set(predictions.labels.counts) == {"no", "yes"}
    assert sum(predictions.labels.counts.values()) == len(synthetic.train)
    assert 0.0 <= min(predictions.scores.sample) <= max(predictions.scores.sample) <= 1.0


def test_reference_is_json_and_loads_back_from_a_bundle(synthetic: Case) -> None:
    loaded = load_reference(synthetic.bundle)
    assert loaded == synthetic.reference
    assert load_reference(synthetic.bundle / "reference.json") == loaded
    json.dumps(loaded.model_dump(mode="json"), allow_nan=False)


def test_loading_a_missing_or_broken_reference(tmp_path: Path) -> None:
    with pytest.raises(BundleNotFoundError, match="without a drift reference"):
        load_reference(tmp_path)
    (tmp_path / "reference.json").write_text('{"features": "nope"}')
    with pytest.raises(BundleError, match="not a valid drift reference"):
        load_reference(tmp_path)


def test_a_frame_without_a_schema_column_is_refused() -> None:
    schema = InputSchema.infer(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    with pytest.raises(DatasetError, match=r"\['b'\]"):
        build_reference(pd.DataFrame({"a": [1.0]}), schema)


def test_prediction_scores_pick_the_positive_class_or_the_highest() -> None:
    proba = np.array([[0.2, 0.8], [0.9, 0.1]])
    assert prediction_scores(proba, ["no", "yes"], "yes").tolist() == [0.8, 0.1]
    assert prediction_scores(proba, ["no", "yes"]).tolist() == [0.8, 0.9]
    with pytest.raises(ValueError, match="not one of the classes"):
        prediction_scores(proba, ["no", "yes"], "maybe")
