"""The public ``write_bundle``: the bundle with its drift reference, built from the model's
predictions the way the server reports them, degrading to the features alone when it must."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC

import k8s_mlserve
from k8s_mlserve import ResponseSpec, load_bundle, write_bundle
from k8s_mlserve.drift import build_reference, load_reference
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.model import bundle as low_level
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.training import bundle as public

from ..toy_model import toy_frame


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    return frame, pd.Series(np.where(frame["x"] + frame["y"] > 0, "yes", "no"))


def test_the_documented_write_bundle_is_the_one_with_the_reference() -> None:
    assert k8s_mlserve.write_bundle is public.write_bundle
    assert low_level.write_bundle is not public.write_bundle


def test_the_reference_profiles_the_predictions_the_server_reports(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, target = data
    model = LogisticRegression().fit(frame, target)
    spec = ResponseSpec(positive_class="yes")
    path = write_bundle(tmp_path / "b", model, frame, name="m", version="v1", response=spec)
    reference = load_reference(path)
    assert reference.names == ["x", "y"]
    assert reference.rows == 200
    rows = [{"x": float(x), "y": float(y)} for x, y in frame.itertuples(index=False)]
    served = Predictor(load_bundle(path)).predict(rows)
    labels = reference.predictions.labels
    assert labels is not None
    assert labels.counts == {
        label: sum(1 for v in served.labels if v == label) for label in ("no", "yes")
    }
    scores = reference.predictions.scores
    assert scores is not None
    assert scores.mean == pytest.approx(np.mean([s for s in served.scores if s is not None]))


def test_predictions_come_from_the_prediction_frame_when_given(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, target = data
    model = LogisticRegression().fit(frame[:150], target[:150])
    path = write_bundle(
        tmp_path / "b", model, frame[:150], name="m", version="v1", prediction_frame=frame[150:]
    )
    reference = load_reference(path)
    assert reference.rows == 150
    assert reference.predictions.labels is not None
    assert sum(reference.predictions.labels.counts.values()) == 50


def test_a_reference_can_be_passed_or_left_out(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, target = data
    model = LogisticRegression().fit(frame, target)
    for opt_out in (False, None):
        path = write_bundle(
            tmp_path / str(opt_out), model, frame, name="m", version="v1", reference=opt_out
        )
        assert not (path / "reference.json").exists()
    given = build_reference(frame, InputSchema.infer(frame))
    path = write_bundle(tmp_path / "given", model, frame, name="m", version="v1", reference=given)
    assert json.loads((path / "reference.json").read_text()) == given
    # The low-level writer, below the drift room, writes none unless given one.
    low = low_level.write_bundle(tmp_path / "low", model, frame, name="m", version="v1")
    assert not (low / "reference.json").exists()


def test_a_regressor_gets_a_feature_profile_only(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series], caplog: pytest.LogCaptureFixture
) -> None:
    frame, _ = data
    model = LinearRegression().fit(frame, frame["x"] * 2 + 1)
    with caplog.at_level(logging.INFO, logger="k8s_mlserve.training"):
        path = write_bundle(tmp_path / "b", model, frame, name="m", version="v1")
    reference = load_reference(path)
    assert reference.names == ["x", "y"]
    assert reference.predictions.labels is None
    assert reference.predictions.scores is None
    assert "profiles the features only: the model has no classes_" in caplog.text


def test_a_classifier_without_probabilities_gets_labels_only(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series], caplog: pytest.LogCaptureFixture
) -> None:
    frame, target = data
    model = SVC().fit(frame, target)
    with caplog.at_level(logging.INFO, logger="k8s_mlserve.training"):
        path = write_bundle(tmp_path / "b", model, frame, name="m", version="v1")
    predictions = load_reference(path).predictions
    assert predictions.labels is not None
    assert set(predictions.labels.counts) == {"no", "yes"}
    assert predictions.scores is None
    assert "predicted labels but no scores: the model has no predict_proba" in caplog.text


def test_a_model_that_cannot_predict_still_gets_its_bundle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame, target = toy_frame(50)
    model = LogisticRegression().fit(frame[["x", "count"]], target)
    # The rows lack the columns the model was fitted on: predicting them fails.
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.training"):
        path = write_bundle(
            tmp_path / "b",
            model,
            frame[["x", "count"]],
            name="m",
            version="v1",
            prediction_frame=frame[["colour"]],
        )
    reference = load_reference(path)
    assert reference.names == ["x", "count"]
    assert reference.predictions.labels is None
    assert "profiles the features only: predicting 50 rows failed" in caplog.text


def test_an_unknown_positive_class_leaves_the_scores_out(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series], caplog: pytest.LogCaptureFixture
) -> None:
    frame, target = data
    model = LogisticRegression().fit(frame, target)
    spec = ResponseSpec(positive_class="maybe")
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.training"):
        path = write_bundle(tmp_path / "b", model, frame, name="m", version="v1", response=spec)
    predictions = load_reference(path).predictions
    assert predictions.labels is not None
    assert predictions.scores is None
    assert "positive class 'maybe' is not one of the classes ['no', 'yes']" in caplog.text
