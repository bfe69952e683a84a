"""The write-through cache without MLflow: it records MLflow's library versions and checks them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from k8s_mlserve.model.bundle import load_bundle, read_metadata
from k8s_mlserve.sources.mlflow.cache import ModelCache

from ...toy_model import write_toy_bundle

ARTIFACT = "models:/toy-model/1"


def test_a_cached_model_records_what_mlflow_recorded_and_is_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = load_bundle(write_toy_bundle(tmp_path / "toy"))
    recorded = {"scikit-learn": "0.99.0", "numpy": "1.26.4"}
    metadata = bundle.metadata.model_copy(
        update={"library_versions": recorded, "mlflow_model_uri": ARTIFACT}
    )
    cache = ModelCache(tmp_path / "cache")
    cached = cache.put(bundle.model, metadata, {}, {"model_uri": "models:/toy-model@champion"})
    assert read_metadata(cached.path).library_versions == recorded

    # The installed scikit-learn must not load it: the cached copy is ignored (MLflow is asked).
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.mlflow"):
        assert cache.get("v1", ARTIFACT) is None
    assert "ignoring cached" in caplog.text
    assert "was written with scikit-learn 0.99.0" in caplog.text

    allowed = ModelCache(tmp_path / "cache", allow_version_mismatch=True).get("v1", ARTIFACT)
    assert allowed is not None
    assert allowed.metadata.library_versions == recorded
