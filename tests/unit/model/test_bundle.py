from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from k8s_mlserve import (
    BundleError,
    BundleNotFoundError,
    BundleRegistry,
    IntegrityError,
    load_bundle,
    read_metadata,
    resolve_bundle_path,
    write_bundle,
)


@pytest.fixture
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, ["a", "a", "b", "b"])
    return model, frame


def test_write_and_load_roundtrip(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    path = write_bundle(
        tmp_path / "b",
        model,
        frame,
        name="m",
        version="v1",
        metrics={"accuracy": 1.0},
        mlflow_run_id="abc",
    )
    bundle = load_bundle(path)
    meta = bundle.metadata
    assert (meta.name, meta.version, meta.training_rows, meta.mlflow_run_id) == (
        "m",
        "v1",
        4,
        "abc",
    )
    assert meta.classes == ["a", "b"]
    assert meta.model_class == "sklearn.linear_model._logistic.LogisticRegression"
    assert meta.input_schema.names == ["x", "y"]
    assert "scikit-learn" in meta.library_versions
    assert bundle.metrics == {"accuracy": 1.0}
    assert list(bundle.model.predict(frame)) == list(model.predict(frame))
    assert sorted(p.name for p in path.iterdir()) == [
        "metadata.json",
        "metrics.json",
        "model.joblib",
    ]


def test_tampered_model_is_refused_before_unpickling(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    path = write_bundle(tmp_path / "b", model, frame, name="m", version="v1")
    with (path / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(IntegrityError, match="refusing to unpickle"):
        load_bundle(path)


def test_existing_target_is_not_overwritten_silently(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    write_bundle(tmp_path / "b", model, frame, name="m", version="v1")
    with pytest.raises(BundleError, match="already exists"):
        write_bundle(tmp_path / "b", model, frame, name="m", version="v2")
    write_bundle(tmp_path / "b", model, frame, name="m", version="v2", overwrite=True)
    assert read_metadata(tmp_path / "b").version == "v2"


def test_invalid_metadata_is_reported(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    path = write_bundle(tmp_path / "b", model, frame, name="m", version="v1")
    data = json.loads((path / "metadata.json").read_text())
    del data["sha256"]
    (path / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="sha256"):
        read_metadata(path)


def test_registry_publish_and_pointer(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    registry = BundleRegistry(tmp_path / "reg")
    for version in ("v1", "v2"):
        staging = registry.staging_dir()
        built = write_bundle(staging / "b", model, frame, name="m", version=version)
        registry.publish(built, version, make_current=version == "v1")
    assert registry.versions() == ["v1", "v2"]
    assert registry.current_version() == "v1"
    assert resolve_bundle_path(registry.root) == registry.root / "versions" / "v1"
    registry.set_current("v2")
    assert registry.load_current().metadata.version == "v2"
    # No staging leftovers, no temporary pointer files.
    assert sorted(p.name for p in registry.root.iterdir()) == ["current", "versions"]
    assert sorted(p.name for p in (registry.root / "versions").iterdir()) == ["v1", "v2"]
    other = write_bundle(tmp_path / "elsewhere", model, frame, name="m", version="v2")
    with pytest.raises(BundleError, match="already exists"):
        registry.publish(other, "v2")
    assert other.is_dir()  # a refused publish loses nothing
    with pytest.raises(BundleNotFoundError):
        registry.set_current("v9")
    with pytest.raises(BundleError, match="invalid version"):
        registry.version_path("../escape")


def test_resolve_errors(tmp_path: Path) -> None:
    with pytest.raises(BundleNotFoundError, match="does not exist"):
        resolve_bundle_path(tmp_path / "missing")
    with pytest.raises(BundleNotFoundError, match="neither a bundle"):
        resolve_bundle_path(tmp_path)
    (tmp_path / "versions").mkdir()
    with pytest.raises(BundleNotFoundError, match="no current version"):
        resolve_bundle_path(tmp_path)
