"""A bundle or registry directory as a source: the current version, and what it refuses to load."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from k8s_mlserve import BundleRegistry, IntegrityError, LibraryMismatchError
from k8s_mlserve.sources import DirectorySource

from ..toy_model import record_scikit_learn, write_toy_bundle


def test_a_registry_directory_serves_its_current_version(tmp_path: Path) -> None:
    registry = BundleRegistry(tmp_path / "toy")
    for version in ("v1", "v2"):
        staging = registry.staging_dir()
        registry.publish(write_toy_bundle(staging / "b", version), version, make_current=True)
    source = DirectorySource(registry.root)
    assert source.description == f"directory {registry.root}"
    assert source.current_version() == "v2"
    assert source.load().metadata.version == "v2"


def test_another_scikit_learn_is_refused_unless_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = record_scikit_learn(write_toy_bundle(tmp_path / "b"), "0.99.0")
    with pytest.raises(LibraryMismatchError, match="MLSERVE_MODEL__ALLOW_VERSION_MISMATCH=true"):
        DirectorySource(path).load()
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.model"):
        bundle = DirectorySource(path, allow_version_mismatch=True).load()
    assert bundle.metadata.version == "v1"
    assert "was written with scikit-learn 0.99.0" in caplog.text
    assert "loading it anyway" in caplog.text


def test_a_tampered_model_is_refused_even_when_versions_may_differ(tmp_path: Path) -> None:
    path = write_toy_bundle(tmp_path / "b")
    with (path / "model.joblib").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(IntegrityError):
        DirectorySource(path, allow_version_mismatch=True).load()
