from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression

from k8s_mlserve import ConfigurationError, ResponseSpec, ValidationError, load_bundle, write_bundle
from k8s_mlserve.inference.predictor import Predictor


def _frame() -> tuple[pd.DataFrame, list[int]]:
    frame = pd.DataFrame(
        {"a": [float(i) for i in range(40)], "b": [float(i % 7) for i in range(40)]}
    )
    return frame, [int(i >= 20) for i in range(40)]


def test_binary_response_fields_and_bands(tmp_path: Path) -> None:
    frame, target = _frame()
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, target)
    spec = ResponseSpec(positive_class="1", flag_field="flag", risk_field="risk")
    bundle = load_bundle(
        write_bundle(tmp_path / "b", model, frame, name="m", version="v7", response=spec)
    )
    predictor = Predictor(bundle)
    low, high = predictor.predict([{"a": 1.0, "b": 1.0}, {"a": 39.0, "b": 4.0}]).results
    assert low["label"] == 0
    assert low["flag"] is False
    assert low["risk"] == "low"
    assert high["label"] == 1
    assert high["flag"] is True
    assert high["risk"] == "high"
    assert high["probability"] == pytest.approx(high["probabilities"]["1"])
    assert sum(high["probabilities"].values()) == pytest.approx(1.0)
    assert high["model_version"] == "v7"

    relabelled = Predictor(bundle, risk_labels=["Faible", "Modéré", "Élevé"])
    assert relabelled.predict([{"a": 39.0, "b": 4.0}]).results[0]["risk"] == "Élevé"
    with pytest.raises(ConfigurationError, match="needs 3 labels"):
        Predictor(bundle, risk_labels=["x"])


def test_batch_equals_single_predictions(tmp_path: Path) -> None:
    frame, target = _frame()
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, target)
    predictor = Predictor(
        load_bundle(write_bundle(tmp_path / "b", model, frame, name="m", version="1"))
    )
    rows = [{"a": float(i), "b": float(i % 3)} for i in range(0, 40, 3)]
    together = predictor.predict(rows).results
    alone = [predictor.predict([row]).results[0] for row in rows]
    assert together == alone


def test_regressor_has_no_probabilities(tmp_path: Path) -> None:
    frame, target = _frame()
    model = LinearRegression().fit(frame, target)
    predictor = Predictor(
        load_bundle(write_bundle(tmp_path / "b", model, frame, name="m", version="1"))
    )
    (result,) = predictor.predict([{"a": 1.0, "b": 2.0}]).results
    assert isinstance(result["label"], float)
    assert "probabilities" not in result


def test_validate_names_rows_in_batches(tmp_path: Path) -> None:
    frame, target = _frame()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(frame, target)
    predictor = Predictor(
        load_bundle(write_bundle(tmp_path / "b", model, frame, name="m", version="1"))
    )
    with pytest.raises(ValidationError) as info:
        predictor.validate([{"a": 1.0, "b": 1.0}, {"a": "x", "b": 1.0}])
    (error,) = info.value.errors
    assert (error.row, error.field) == (1, "a")


def test_unknown_positive_class_is_a_configuration_error(tmp_path: Path) -> None:
    frame, target = _frame()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(frame, target)
    spec = ResponseSpec(positive_class="yes")
    bundle = load_bundle(
        write_bundle(tmp_path / "b", model, frame, name="m", version="1", response=spec)
    )
    with pytest.raises(ConfigurationError, match="positive class 'yes'"):
        Predictor(bundle)
