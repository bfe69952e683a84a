from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s_mlserve.cli import main
from k8s_mlserve.cli.predict import load_payload
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.training.runner import TrainingRun


def test_info_describes_a_registry(
    registries: dict[str, Path], trained: dict[str, TrainingRun], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(registries["diabetes"])]) == 0
    out = capsys.readouterr().out
    assert "versions v1 (current)" in out
    assert "diabetes-model version v1" in out
    assert "Glucose" in out
    assert f"{trained['diabetes'].metrics['accuracy']}" in out


def test_info_on_a_non_bundle_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path)]) == 2
    assert "neither a bundle" in capsys.readouterr().err


def test_train_publishes_versions(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "diabetes"
    assert main(["train", "diabetes", "--data", str(data_dir), "-o", str(out_dir), "-q"]) == 0
    assert (
        main(
            [
                "train",
                "diabetes",
                "--data",
                str(data_dir),
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
