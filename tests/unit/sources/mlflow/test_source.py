"""The MLflow source without MLflow: model URIs and where the cache of a model goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve import ConfigurationError
from k8s_mlserve.sources.mlflow.source import MLflowSource, ModelURI

# -- model URIs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "kind", "name", "reference"),
    [
        ("models:/diabetes-model@champion", "alias", "diabetes-model", "champion"),
        ("models:/diabetes-model/3", "version", "diabetes-model", "3"),
        ("runs:/0123abcd/model", "run", "0123abcd", "model"),
        ("runs:/0123abcd/nested/model/", "run", "0123abcd", "nested/model"),
    ],
)
def test_model_uris_parse(uri: str, kind: str, name: str, reference: str) -> None:
    parsed = ModelURI.parse(uri)
    assert (parsed.kind, parsed.name, parsed.reference) == (kind, name, reference)


@pytest.mark.parametrize(
    "uri",
    [
        "models:/diabetes-model",
        "models:/diabetes-model/latest",
        "models:/@champion",
        "models:/diabetes-model@",
        "runs:/0123abcd",
        "s3://bucket/model",
        "/models/diabetes",
    ],
)
def test_unsupported_model_uris_name_the_accepted_forms(uri: str) -> None:
    with pytest.raises(ConfigurationError, match=r"models:/NAME@ALIAS, models:/NAME/VERSION or"):
        ModelURI.parse(uri)


def test_run_uris_resolve_without_asking_mlflow() -> None:
    source = MLflowSource("runs:/0123456789abcdef0123/model", tracking_uri="http://127.0.0.1:9")
    resolved = source.resolve()
    assert resolved.version == "run-0123456789ab"
    assert resolved.run_id == "0123456789abcdef0123"
    assert source.current_version() == "run-0123456789ab"


def test_cache_path_is_per_model(tmp_path: Path) -> None:
    alias = MLflowSource("models:/iris-model@champion", tracking_uri="x", cache_dir=tmp_path)
    run = MLflowSource("runs:/abc/model", tracking_uri="x", cache_dir=tmp_path)
    assert alias.cache_path == tmp_path / "iris-model"
    assert run.cache_path == tmp_path / "run-abc"
    assert MLflowSource("models:/m/1", tracking_uri="x").cache_path is None
