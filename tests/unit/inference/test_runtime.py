"""Which runtime serves a bundle, and when its pickle is read at all."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from k8s_mlserve import IntegrityError, NotCompiledError, load_bundle, write_bundle
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.model.bundle import METADATA_FILE, MODEL_FILE
from k8s_mlserve.sources import DirectorySource

from ..toy_model import ROWS, write_toy_bundle


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_toy_bundle(tmp_path / "v1")


def test_a_compiled_bundle_is_served_without_reading_its_pickle(toy: Path) -> None:
    deferred = DirectorySource(toy, defer_pickle=True).load()
    assert deferred.model is None
    compiled = Predictor(deferred)
    assert (compiled.runtime.name, compiled.runtime_reason) == ("onnx", None)
    assert compiled.classes == ["no", "yes"]
    reference = Predictor(load_bundle(toy), runtime="sklearn")
    assert compiled.predict(ROWS).labels == reference.predict(ROWS).labels
    # Probabilities computed in float32 are normalised again: each row sums to 1.
    sums = compiled.runtime.probabilities(ROWS).sum(axis=1)
    assert abs(sums - 1.0).max() < 1e-12
    # Asked for scikit-learn, the same deferred bundle is unpickled then.
    assert Predictor(deferred, runtime="sklearn").runtime.name == "sklearn"
    assert deferred.unpickled().model is not None


def test_a_deferred_pickle_is_still_checked_against_its_sha256(toy: Path) -> None:
    (toy / MODEL_FILE).write_bytes(b"not the model that was written")
    with pytest.raises(IntegrityError, match="sha256"):
        load_bundle(toy, defer_pickle=True)


def test_auto_falls_back_to_scikit_learn_and_unpickles_when_the_compiled_file_is_bad(
    toy: Path,
) -> None:
    deferred = load_bundle(toy, defer_pickle=True)
    (toy / "model.onnx").write_bytes(b"garbage")
    predictor = Predictor(deferred)
    assert predictor.runtime.name == "sklearn"
    assert predictor.runtime_reason is not None
    assert "model.onnx has sha256" in predictor.runtime_reason
    assert predictor.predict(ROWS).labels
    with pytest.raises(NotCompiledError, match=r"model\.onnx has sha256"):
        Predictor(deferred, runtime="onnx")


def test_a_bundle_compiled_without_recorded_classes_unpickles_for_them(toy: Path) -> None:
    metadata = json.loads((toy / METADATA_FILE).read_text())
    metadata["compiled"].pop("classes")
    (toy / METADATA_FILE).write_text(json.dumps(metadata))
    bundle = load_bundle(toy, defer_pickle=True)
    assert bundle.model is not None  # not standalone: the pickle is read
    predictor = Predictor(bundle)
    assert (predictor.runtime.name, predictor.classes) == ("onnx", ["no", "yes"])


def test_a_regressor_is_compiled_and_served_alone(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [float(i) for i in range(30)], "b": [i % 4 for i in range(30)]})
    model = LinearRegression().fit(frame, frame["a"] * 2 + frame["b"])
    path = write_bundle(tmp_path / "r", model, frame, name="r", version="v1", reference=False)
    bundle = load_bundle(path, defer_pickle=True)
    assert bundle.model is None
    predictor = Predictor(bundle)
    assert (predictor.runtime.name, predictor.classes) == ("onnx", None)
    (value,) = predictor.predict([{"a": 3.0, "b": 1}]).labels
    assert value == pytest.approx(7.0, abs=1e-4)
