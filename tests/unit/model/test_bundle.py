from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression

from k8s_mlserve import (
    BundleError,
    BundleNotFoundError,
    BundleRegistry,
    IntegrityError,
    LibraryMismatchError,
    load_bundle,
    read_metadata,
    resolve_bundle_path,
)
from k8s_mlserve.model.bundle import (
    check_library_versions,
    pinned_requirements,
    sha256_file,
    write_bundle,
)

from ..toy_model import record_scikit_learn
from .test_registry import record_fsyncs_and_renames

REFUSAL = (
    "bundle /models/m/versions/v1 (model 'm' version v1) was written with scikit-learn 1.5.2 but "
    "scikit-learn 1.6.1 is installed (a pickled model needs the major.minor it was written with): "
    "rebuild the image with scikit-learn==1.5.* (k8s-mlserve build pins it from the bundle), "
    "retrain, or set MLSERVE_MODEL__ALLOW_VERSION_MISMATCH=true to serve anyway"
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
    # The low-level writer writes a drift reference only when given one; the model is compiled.
    assert sorted(p.name for p in path.iterdir()) == [
        "metadata.json",
        "metrics.json",
        "model.joblib",
        "model.onnx",
    ]
    assert meta.compiled is not None
    assert meta.compiled.status == "ok"


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


# -- library versions ----------------------------------------------------------------------------


def test_check_library_versions_compares_scikit_learn_major_minor() -> None:
    metadata = {"name": "m", "version": "v1", "library_versions": {"scikit-learn": "1.5.2"}}
    for same_series in ("1.5.0", "1.5.2", "1.5.3.post1", "1.5.dev0"):
        assert check_library_versions(metadata, same_series) is None
    where = Path("/models/m/versions/v1")
    assert check_library_versions(metadata, "1.6.1", where=where) == REFUSAL
    assert check_library_versions(metadata, "2.5.2") is not None
    # Numbers, not strings: 1.1 is not 1.10.
    old = {"library_versions": {"scikit-learn": "1.1.3"}}
    assert check_library_versions(old, "1.10.0") == (
        "the model was written with scikit-learn 1.1.3 but scikit-learn 1.10.0 is installed (a "
        "pickled model needs the major.minor it was written with): rebuild the image with "
        "scikit-learn==1.1.* (k8s-mlserve build pins it from the bundle), retrain, or set "
        "MLSERVE_MODEL__ALLOW_VERSION_MISMATCH=true to serve anyway"
    )
    # Nothing (readable) recorded: nothing to refuse.
    unreadable: list[dict[str, Any]] = [
        {},
        {"library_versions": {}},
        {"library_versions": {"scikit-learn": "?"}},
    ]
    for recorded in unreadable:
        assert check_library_versions(recorded, "1.6.1") is None


def test_a_written_bundle_matches_the_installed_scikit_learn(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    metadata = read_metadata(write_bundle(tmp_path / "b", model, frame, name="m", version="v1"))
    assert metadata.library_versions["scikit-learn"] == sklearn.__version__
    assert check_library_versions(metadata) is None
    assert f"scikit-learn=={sklearn.__version__}" in pinned_requirements(metadata)


def test_pinned_requirements_are_the_recorded_libraries_but_python() -> None:
    recorded = {
        "python": "3.12.3",
        "scikit-learn": "1.9.1",
        "numpy": "2.3.1",
        "pandas": "2.3.0",
        "joblib": "1.5.1",
    }
    assert pinned_requirements({"library_versions": recorded}) == [
        "joblib==1.5.1",
        "numpy==2.3.1",
        "pandas==2.3.0",
        "scikit-learn==1.9.1",
    ]
    assert pinned_requirements({"name": "m"}) == []


def test_another_scikit_learn_is_refused_before_unpickling_when_strict(
    tmp_path: Path,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    caplog: pytest.LogCaptureFixture,
) -> None:
    model, frame = fitted
    path = record_scikit_learn(
        write_bundle(tmp_path / "b", model, frame, name="m", version="v1"), "0.99.0"
    )
    installed = sklearn.__version__
    with pytest.raises(LibraryMismatchError) as refused:
        load_bundle(path, strict_versions=True)
    assert str(refused.value) == check_library_versions(read_metadata(path), where=path)
    assert str(refused.value).startswith(
        f"bundle {path} (model 'm' version v1) was written with scikit-learn 0.99.0 but "
        f"scikit-learn {installed} is installed"
    )
    assert "scikit-learn==0.99.*" in str(refused.value)

    # Not strict (the default outside the server): loaded, with a warning.
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.model"):
        assert load_bundle(path).metadata.version == "v1"
    assert f"was written with scikit-learn 0.99.0 but {installed} is installed; loading it" in (
        caplog.text
    )

    # Refused before model.joblib is unpickled: a file that is no pickle at all is never read.
    (path / "model.joblib").write_bytes(b"not a pickle")
    data = json.loads((path / "metadata.json").read_text())
    data["sha256"] = sha256_file(path / "model.joblib")
    (path / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(LibraryMismatchError):
        load_bundle(path, strict_versions=True)


def test_a_bundle_recording_no_scikit_learn_loads_with_a_warning(
    tmp_path: Path,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    caplog: pytest.LogCaptureFixture,
) -> None:
    model, frame = fitted
    path = record_scikit_learn(
        write_bundle(tmp_path / "b", model, frame, name="m", version="v1"), None
    )
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.model"):
        assert load_bundle(path, strict_versions=True).metadata.version == "v1"
    assert f"bundle {path} (model 'm' version v1) records no scikit-learn version" in caplog.text


def test_write_bundle_is_readable_durable_and_cleans_up_after_a_killed_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(frame, ["a", "a", "b", "b"])
    killed, live = tmp_path / ".b.killed", tmp_path / ".b.live"
    for path in (killed, live):
        path.mkdir()
        (path / "model.joblib").write_bytes(b"half")
    old = time.time() - 11 * 60
    for path in (killed / "model.joblib", killed):
        os.utime(path, (old, old))
    events = record_fsyncs_and_renames(monkeypatch)
    previous = os.umask(0o022)
    try:
        target = write_bundle(tmp_path / "b", model, frame, name="m", version="v1")
    finally:
        os.umask(previous)
    assert not killed.exists()
    assert live.is_dir()
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in target.iterdir()} == {0o644}
    (rename,) = [e for e in events if e[0] == "replace"]
    staging = Path(rename[1])
    before, after = events[: events.index(rename)], events[events.index(rename) + 1 :]
    assert ("fsync", str(staging / "model.joblib")) in before
    assert ("fsync", str(staging / "metadata.json")) in before
    assert ("fsync", str(staging)) in before
    assert after == [("fsync", str(tmp_path))]
