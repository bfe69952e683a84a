"""The ``model`` and ``training`` sections: where the model comes from, what the Job runs."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import parse_spec

from .conftest import minimal


def _error(**overrides: Any) -> str:
    with pytest.raises(ConfigurationError) as info:
        parse_spec(minimal(**overrides))
    return str(info.value)


@pytest.mark.parametrize(
    ("model", "mlflow", "source"),
    [
        ({}, False, "claim"),
        ({"registered_name": "m"}, True, "mlflow"),
        ({"source": "image"}, False, "image"),
        ({"source": "image"}, True, "image"),
        ({"source": "mlflow", "registered_name": "m"}, True, "mlflow"),
    ],
)
def test_the_source_and_its_default(model: dict[str, Any], mlflow: bool, source: str) -> None:
    spec = parse_spec(minimal(model=model, **({"mlflow": {}} if mlflow else {})))
    assert spec.model_source == source
    assert spec.model.source == model.get("source")


def test_mlflow_needs_a_registered_model_and_the_stack() -> None:
    assert "model: source mlflow needs registered_name, the MLflow model to serve" in _error(
        model={"source": "mlflow"}, mlflow={}
    )
    assert "model.registered_name needs the mlflow section" in _error(
        model={"source": "mlflow", "registered_name": "m"}
    )


def test_a_registered_name_belongs_to_mlflow() -> None:
    message = _error(model={"source": "claim", "registered_name": "m"}, mlflow={})
    assert "model: registered_name is only used with source mlflow, not claim" in message


def test_an_unknown_source_is_named() -> None:
    assert "model.source: Input should be 'claim', 'image' or 'mlflow'" in _error(
        model={"source": "s3"}
    )


def test_a_model_in_the_image_is_not_trained_or_pinned() -> None:
    assert "training publishes into the models claim, but model.source image serves" in _error(
        model={"source": "image"}, training={"example": "iris"}
    )
    assert "model: version pins a version of the registry directory" in _error(
        model={"source": "image", "version": "v1"}
    )
    message = _error(
        model={"source": "image"},
        strategy={"type": "canary", "canary": {"image_tag": "2", "model_version": "v2"}},
    )
    assert "strategy.canary.model_version pins a version of the registry directory" in message
    assert "set strategy.canary.image_tag to the image that has it" in message


def test_training_runs_an_example_or_a_command() -> None:
    assert "training: set example (a built-in example: iris, diabetes or churn) or command" in (
        _error(training={})
    )
    assert "training: set example or command, not both" in _error(
        training={"example": "iris", "command": ["train"]}
    )
    assert "training: data is an option of the built-in examples; with command" in _error(
        training={"command": ["train"], "data": "/data.csv"}
    )
    assert "training.command: List should have at least 1 item" in _error(training={"command": []})
    assert "training.command[0]: String should have at least 1 character" in _error(
        training={"command": [""]}
    )


def test_training_env_leaves_ours_alone() -> None:
    message = _error(
        training={"command": ["train"], "env": {"MLSERVE_TRAINING_OUTPUT": "/x", "HOME": "/"}}
    )
    assert (
        "training.env: HOME, MLSERVE_TRAINING_OUTPUT: set by k8s-mlserve for every training Job"
    ) in message
    assert "write 0.5 in quotes" in _error(training={"command": ["train"], "args": [0.5]})


def test_the_training_image_is_versioned() -> None:
    assert "training.image: the tag 'latest' makes deployments unrepeatable" in _error(
        training={"command": ["train"], "image": "team/trainer:latest"}
    )
    assert "training.image: the image has no tag" in _error(
        training={"command": ["train"], "image": "team/trainer"}
    )
    spec = parse_spec(minimal(training={"command": ["t"], "image": "team/trainer@sha256:abc"}))
    assert spec.training is not None
    assert spec.training.image == "team/trainer@sha256:abc"
