"""A bundle or registry directory as a source: the current version, and what it refuses to load."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from k8s_mlserve import BundleRegistry, IntegrityError, LibraryMismatchError
from k8s_mlserve.inference.manager import ModelManager
from k8s_mlserve.model import bundle as bundle_module
from k8s_mlserve.settings import Settings
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


def test_a_bundle_that_failed_is_not_read_again_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toy_bundle(tmp_path / "b")
    model = path / "model.joblib"
    good = model.read_bytes()
    model.write_bytes(good + b"x")
    source = DirectorySource(path)
    with pytest.raises(IntegrityError) as first:
        source.load()
    hashed: list[Path] = []
    real_sha = bundle_module.sha256_file

    def sha256_file(path: Path) -> str:
        hashed.append(path)
        return real_sha(path)

    monkeypatch.setattr(bundle_module, "sha256_file", sha256_file)
    with pytest.raises(IntegrityError) as again:
        source.load()
    assert hashed == []  # neither hashed nor unpickled: remembered by its digest
    assert str(again.value) == str(first.value)
    model.write_bytes(good)
    assert source.load().metadata.version == "v1"
    assert hashed == [model]


def test_a_bad_version_is_warned_about_once_over_polls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = BundleRegistry(tmp_path / "toy")
    registry.publish(write_toy_bundle(registry.staging_dir() / "b", "v1"), "v1")
    source = DirectorySource(registry.root)
    manager = ModelManager([source], Settings())

    async def polls() -> list[bool]:
        await manager.initial_load()
        bad = record_scikit_learn(write_toy_bundle(registry.staging_dir() / "b", "v2"), "0.99")
        registry.publish(bad, "v2")
        statuses = [await manager.reload(reason="poll") for _ in range(3)]
        registry.publish(write_toy_bundle(registry.staging_dir() / "b", "v3"), "v3")
        statuses.append(await manager.reload(reason="poll"))
        await manager.close()
        return [status.ok for status in statuses]

    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.inference"):
        assert asyncio.run(polls()) == [False, False, False, True]
    assert caplog.text.count("reload (poll) failed") == 1
    assert manager.require_model().version == "v3"
