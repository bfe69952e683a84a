"""Training-side MLflow logic that needs no tracking server: aliases and signatures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.cli import main
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.training.runner import fit_example
from k8s_mlserve.training.tracking import (
    CHALLENGER,
    CHAMPION,
    decide_alias,
    experiment_name,
    log_and_register,
    promote,
    signature_for,
)


def test_the_first_version_is_champion() -> None:
    assert decide_alias(0.5, None, metric="f1_score", champion_version=None) == (
        CHAMPION,
        "first version with the champion alias",
    )


def test_a_new_version_must_beat_the_champion() -> None:
    alias, reason = decide_alias(0.81, 0.80, metric="f1_score", champion_version="2")
    assert alias == CHAMPION
    assert reason == "f1_score 0.8100 beats champion version 2 (0.8000)"
    alias, reason = decide_alias(0.80, 0.80, metric="f1_score", champion_version="2")
    assert alias == CHALLENGER
    assert reason == "f1_score 0.8000 does not beat champion version 2 (0.8000)"
    assert decide_alias(0.1, 0.9, metric="auc_roc", champion_version="2", force=True) == (
        CHAMPION,
        "forced",
    )


def test_a_champion_without_the_metric_keeps_its_alias() -> None:
    alias, reason = decide_alias(0.9, None, metric="auc_roc", champion_version="4")
    assert alias == CHALLENGER
    assert reason == "champion version 4 has no auc_roc to compare with"


def test_experiment_names_follow_the_workshop() -> None:
    assert experiment_name("diabetes-model") == "diabetes-classification"
    assert experiment_name("churn-model") == "churn-classification"


def test_signature_mirrors_the_input_schema() -> None:
    frame = pd.DataFrame(
        {"n": [1, 2], "x": [0.5, np.nan], "plan": ["a", "b"]},
    )
    signature = signature_for(InputSchema.infer(frame), np.array([0, 1]))
    inputs = signature.inputs.to_dict()
    assert inputs == [
        {"type": "long", "name": "n", "required": True},
        {"type": "double", "name": "x", "required": False},
        {"type": "string", "name": "plan", "required": True},
    ]
    assert signature.outputs.to_dict() == [{"type": "long", "required": True}]
    labels = signature_for(InputSchema.infer(frame), np.array(["no", "yes"]))
    assert labels.outputs.to_dict() == [{"type": "string", "required": True}]


def test_an_unknown_metric_is_refused_before_contacting_mlflow() -> None:
    trained = fit_example("iris", algorithm="logreg")
    with pytest.raises(ConfigurationError, match="unknown metric 'rmse'; choose one of accuracy"):
        log_and_register(trained, tracking_uri="http://127.0.0.1:9", metric="rmse")


def test_promote_needs_a_version_number() -> None:
    with pytest.raises(ConfigurationError, match="version must be a number"):
        promote("iris-model", "latest", tracking_uri="http://127.0.0.1:9")


def test_registry_commands_need_a_tracking_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["registry", "list", "iris-model"]) == 2
    assert "pass --tracking-uri or set MLFLOW_TRACKING_URI" in capsys.readouterr().err


def test_train_refuses_an_unknown_metric_before_fitting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "iris", "-o", str(tmp_path), "--tracking-uri", "http://127.0.0.1:9"]
    assert main([*argv, "--metric", "rmse"]) == 2
    assert "unknown metric 'rmse'" in capsys.readouterr().err
    assert not tmp_path.joinpath("versions").exists()
