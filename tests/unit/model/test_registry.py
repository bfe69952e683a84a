"""The registry directory: versions side by side and a pointer to the current one."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from k8s_mlserve.errors import BundleError, BundleNotFoundError
from k8s_mlserve.model.bundle import write_bundle
from k8s_mlserve.model.registry import BundleRegistry, resolve_bundle_path


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    return LogisticRegression().fit(frame, ["a", "a", "b", "b"]), frame


@pytest.fixture
def registry(tmp_path: Path) -> BundleRegistry:
    return BundleRegistry(tmp_path / "registry")


def publish(
    registry: BundleRegistry,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    version: str,
    *,
    make_current: bool = True,
) -> Path:
    """Assemble a bundle in the registry's staging area and publish it as ``version``."""
    model, frame = fitted
    staging = registry.staging_dir()
    bundle = write_bundle(staging / "bundle", model, frame, name="m", version=version)
    return registry.publish(bundle, version, make_current=make_current)


def test_publishing_adds_versions_and_moves_the_pointer(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    assert registry.versions() == []
    first = publish(registry, fitted, "v1")
    assert first == registry.root / "versions" / "v1"
    assert registry.current_version() == "v1"
    publish(registry, fitted, "v2")
    assert registry.versions() == ["v1", "v2"]
    assert registry.current_version() == "v2"
    assert registry.current_path() == registry.root / "versions" / "v2"
    assert (registry.root / "current").read_text() == "v2\n"


def test_a_version_can_be_published_without_becoming_current(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1")
    publish(registry, fitted, "v2", make_current=False)
    assert registry.versions() == ["v1", "v2"]
    assert registry.current_version() == "v1"
    registry.set_current("v2")
    assert registry.current_version() == "v2"
    registry.set_current("v1")
    assert registry.current_version() == "v1"


def test_publishing_leaves_no_staging_or_temporary_files(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1")
    publish(registry, fitted, "v2")
    registry.set_current("v1")
    assert sorted(p.name for p in registry.root.iterdir()) == ["current", "versions"]
    assert sorted(p.name for p in (registry.root / "versions").iterdir()) == ["v1", "v2"]


def test_the_pointer_is_replaced_not_rewritten(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1")
    publish(registry, fitted, "v2", make_current=False)
    with (registry.root / "current").open() as reader:  # a reader that opened it before
        registry.set_current("v2")
        assert reader.read() == "v1\n"  # still sees the whole old pointer, never a partial one
    assert registry.current_version() == "v2"


def test_the_current_bundle_loads(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v7")
    loaded = registry.load_current()
    assert loaded.path == registry.root / "versions" / "v7"
    assert loaded.metadata.version == "v7"


def test_versions_lists_only_complete_bundles(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1")
    registry.staging_dir()  # an abandoned staging directory
    (registry.root / "versions" / "v2").mkdir()  # a half-copied version
    assert registry.versions() == ["v1"]


def test_publishing_refuses_an_incomplete_bundle_or_a_taken_version(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="is not a complete bundle"):
        registry.publish(tmp_path / "empty", "v1")
    publish(registry, fitted, "v1")
    model, frame = fitted
    other = write_bundle(tmp_path / "other", model, frame, name="m", version="v1")
    with pytest.raises(BundleError) as raised:
        registry.publish(other, "v1")
    assert str(raised.value) == f"version 'v1' already exists in {registry.root}"
    assert other.is_dir()  # a refused bundle is left where it was


@pytest.mark.parametrize("version", ["../escape", "", ".hidden", "a/b", "v 1", "x" * 64])
def test_a_version_must_be_a_plain_name(registry: BundleRegistry, version: str) -> None:
    with pytest.raises(BundleError, match="invalid version") as raised:
        registry.version_path(version)
    assert "use letters, digits, '.', '_' or '-' (max 63)" in str(raised.value)


def test_set_current_refuses_an_unknown_version_and_keeps_the_pointer(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1")
    with pytest.raises(BundleNotFoundError) as raised:
        registry.set_current("v9")
    assert str(raised.value) == f"version 'v9' does not exist in {registry.root}"
    assert registry.current_version() == "v1"


def test_no_current_version(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1", make_current=False)
    with pytest.raises(BundleNotFoundError) as raised:
        registry.current_version()
    assert str(raised.value) == f"{registry.root} has no current version (no current file)"
    (registry.root / "current").write_text("v3\n")
    with pytest.raises(BundleNotFoundError) as dangling:
        registry.current_path()
    assert str(dangling.value) == f"{registry.root}: current version 'v3' has no bundle"


# -- resolve_bundle_path ---------------------------------------------------------------------


def test_a_bundle_directory_is_its_own_bundle(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, frame = fitted
    bundle = write_bundle(tmp_path / "bundle", model, frame, name="m", version="v1")
    assert resolve_bundle_path(bundle) == bundle
    assert resolve_bundle_path(str(bundle)) == bundle


def test_a_registry_directory_means_its_current_version(
    registry: BundleRegistry, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    publish(registry, fitted, "v1")
    publish(registry, fitted, "v2")
    assert BundleRegistry.is_registry(registry.root)
    assert resolve_bundle_path(registry.root) == registry.root / "versions" / "v2"
    registry.set_current("v1")
    assert resolve_bundle_path(registry.root) == registry.root / "versions" / "v1"


def test_resolving_says_what_a_path_lacks(tmp_path: Path) -> None:
    with pytest.raises(BundleNotFoundError) as missing:
        resolve_bundle_path(tmp_path / "missing")
    assert str(missing.value) == f"{tmp_path / 'missing'} does not exist"
    with pytest.raises(BundleNotFoundError) as neither:
        resolve_bundle_path(tmp_path)
    assert str(neither.value) == (
        f"{tmp_path} is neither a bundle (metadata.json + model.joblib) nor a registry "
        "(current + versions/)"
    )
    (tmp_path / "versions").mkdir()
    assert BundleRegistry.is_registry(tmp_path)
    with pytest.raises(BundleNotFoundError, match="has no current version"):
        resolve_bundle_path(tmp_path)


def test_versions_are_listed_in_natural_order(tmp_path: Path) -> None:
    registry = BundleRegistry(tmp_path / "natural")
    for version in ("v10", "v2", "v1"):
        bundle = registry.root / "versions" / version
        bundle.mkdir(parents=True)
        for name in ("model.joblib", "metadata.json"):
            (bundle / name).write_text("{}")  # listing looks at the files, never unpickles
    assert registry.versions() == ["v1", "v2", "v10"]


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    """Set the process umask for one test; the previous one is restored after it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_published_files_are_readable_as_far_as_the_umask_allows(
    registry: BundleRegistry,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    umask: Callable[[int], int],
    mask: int,
    file_mode: int,
    dir_mode: int,
) -> None:
    umask(mask)
    target = publish(registry, fitted, "v1")

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(registry.root / "current") == file_mode
    assert mode(registry.root / "versions") == dir_mode
    assert mode(target) == dir_mode
    assert {p.name: mode(p) for p in target.iterdir()} == {
        name: file_mode for name in ("metadata.json", "metrics.json", "model.joblib", "model.onnx")
    }
    assert mode(registry.staging_dir()) == dir_mode


def test_stale_staging_debris_is_removed_at_the_next_publish(
    registry: BundleRegistry,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish(registry, fitted, "v1")
    versions = registry.root / "versions"
    old = time.time() - 11 * 60
    debris = [versions / ".staging.killed", versions / ".v2.killed", registry.root / ".current.x"]
    for path in debris[:2]:
        (path / "bundle").mkdir(parents=True)
        (path / "bundle" / "model.joblib").write_bytes(b"half")
    debris[2].write_text("v1")
    for path in [*debris, *debris[0].rglob("*"), *debris[1].rglob("*")]:
        os.utime(path, (old, old))
    live = registry.staging_dir()  # a concurrent publisher at work: recent, so kept
    (live / "bundle").mkdir()
    with caplog.at_level(logging.INFO, logger="k8s_mlserve.model"):
        publish(registry, fitted, "v2")
    assert not any(path.exists() for path in debris)
    assert live.is_dir()
    for path in debris:
        assert f"removed staging debris {path}" in caplog.text
    assert registry.versions() == ["v1", "v2"]


def test_publish_fsyncs_the_bundle_before_its_rename_and_the_directory_after(
    registry: BundleRegistry,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, frame = fitted
    bundle = write_bundle(registry.staging_dir() / "bundle", model, frame, name="m", version="v1")
    events = record_fsyncs_and_renames(monkeypatch)
    target = registry.publish(bundle, "v1")
    rename = events.index(("replace", str(bundle), str(target)))
    before, after = events[:rename], events[rename + 1 :]
    assert ("fsync", str(bundle / "model.joblib")) in before
    assert ("fsync", str(bundle)) in before
    assert ("fsync", str(target.parent)) in after
    (moved,) = [e for e in after if e[0] == "replace" and e[2] == str(registry.root / "current")]
    assert after.index(("fsync", moved[1])) < after.index(moved)
    assert after[-1] == ("fsync", str(registry.root))


def record_fsyncs_and_renames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record ``os.fsync`` (by the path its descriptor is open on) and ``os.replace``, in order."""
    events: list[tuple[str, ...]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events
