"""``k8s-mlserve info``, ``train`` and ``predict``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from k8s_mlserve import BundleRegistry, write_bundle
from k8s_mlserve.cli import main
from k8s_mlserve.cli.predict import load_payload
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.training.examples import diabetes


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry of a small synthetic model: v1 (current) and v2."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure": np.arange(200) % 72 + 1,
            "charges": np.where(rng.random(200) < 0.05, np.nan, rng.uniform(20, 120, size=200)),
            "plan": rng.choice(["basic", "gold"], size=200),
        }
    )
    target = np.where(frame["tenure"] > 36, "stays", "leaves")
    model = make_pipeline(
        make_column_transformer(
            (SimpleImputer(), ["tenure", "charges"]), (OneHotEncoder(), ["plan"])
        ),
        LogisticRegression(max_iter=1000),
    ).fit(frame, target)
    root = tmp_path_factory.mktemp("registry")
    registry = BundleRegistry(root)
    for version in ("v1", "v2"):
        write_bundle(
            registry.version_path(version),
            model,
            frame,
            name="tiny-model",
            version=version,
            metrics={"accuracy": 0.9375},
        )
    registry.set_current("v1")
    return root


def test_info_describes_a_registry(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(registry)]) == 0
    out = capsys.readouterr().out
    assert "versions v1 (current), v2" in out
    assert "tiny-model version v1" in out
    assert "classes     ['leaves', 'stays']" in out
    assert "drift ref   yes" in out  # write_bundle records one by default
    assert re.search(
        r"^compiled    model\.onnx \(columns inputs; parity on \d+ rows: 0 labels differ, ",
        out,
        re.MULTILINE,
    )
    assert re.search(r"^  tenure +integer 1\.\.72$", out, re.MULTILINE)
    assert re.search(r"^  charges +float [\d.]+\.\.[\d.]+ \(nullable\)$", out, re.MULTILINE)
    assert re.search(r"^  plan +categorical: basic, gold$", out, re.MULTILINE)
    assert re.search(r"^  accuracy +0\.9375$", out, re.MULTILINE)


def test_info_on_a_non_bundle_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path)]) == 2
    assert "neither a bundle" in capsys.readouterr().err


def test_train_publishes_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Diabetes-shaped rows: the example trains on any file with its columns.
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({name: rng.integers(0, 200, size=120) for name in diabetes.FEATURES})
    rows[diabetes.TARGET] = (rows["Glucose"] > 100).astype(int)
    rows.to_csv(tmp_path / diabetes.FILENAME, index=False)
    out_dir = tmp_path / "diabetes"
    assert main(["train", "diabetes", "--data", str(tmp_path), "-o", str(out_dir), "-q"]) == 0
    assert BundleRegistry(out_dir).versions() == ["v1"]
    assert (
        main(
            [
                "train",
                "diabetes",
                "--data",
                str(tmp_path),
                "-o",
                str(out_dir),
                "-q",
                "--version",
                "v1",
            ]
        )
        == 2
    )
    assert "already exists" in capsys.readouterr().err


def test_train_rejects_unknown_iris_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "iris", "--algorithm", "xgb", "-o", str(tmp_path), "-q"]) == 2
    assert "choose one of rf, svm, logreg" in capsys.readouterr().err


def test_predict_payloads(tmp_path: Path) -> None:
    assert load_payload('{"a": 1}', None) == {"a": 1}
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"a": 1}, {"a": 2}]))
    assert load_payload(None, rows) == {"instances": [{"a": 1}, {"a": 2}]}
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    assert load_payload(None, csv) == {"instances": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_payload("{nope", None)
    with pytest.raises(ConfigurationError, match="either"):
        load_payload(None, None)


def test_predict_against_nothing_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", '{"a": 1}', "--url", "http://127.0.0.1:9", "--timeout", "2"]) == 2
    assert "cannot reach" in capsys.readouterr().err
