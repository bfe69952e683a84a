"""How ``challenger_source`` reads ``shadow.model``: MLflow URIs, paths, registry versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve import ConfigurationError
from k8s_mlserve.model.registry import BundleRegistry
from k8s_mlserve.settings import Settings
from k8s_mlserve.sources import DirectorySource, FollowingSource, challenger_source
from k8s_mlserve.sources.mlflow.source import MLflowSource

from ..toy_model import write_toy_bundle


def settings(
    reference: str | None, tracking_uri: str | None = "http://mlflow", **model: Any
) -> Settings:
    return Settings.model_validate(
        {"model": model, "shadow": {"model": reference}, "mlflow": {"tracking_uri": tracking_uri}}
    )


def test_without_a_reference_there_is_no_challenger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert challenger_source(settings(None)) is None
    assert challenger_source(settings("  ")) is None


def test_an_mlflow_uri_is_followed_from_a_cache_of_its_own(tmp_path: Path) -> None:
    uri = "models:/iris-model@challenger"
    source = challenger_source(settings(uri, cache_dir=tmp_path))
    assert isinstance(source, FollowingSource)
    assert [s.description for s in source.start] == [
        f"directory {tmp_path / '.shadow' / 'iris-model'}",
        f"mlflow {uri}",
    ]
    assert isinstance(source.follow, MLflowSource)
    run = challenger_source(settings("runs:/abc123/model"))
    assert isinstance(run, MLflowSource)
    assert run.description == "mlflow runs:/abc123/model"


def test_an_mlflow_uri_needs_a_tracking_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(
        ConfigurationError, match="MLSERVE_SHADOW__MODEL=models:/m/2 needs an MLflow"
    ):
        challenger_source(settings("models:/m/2", tracking_uri=None))


def test_a_path_is_a_bundle_or_registry_directory(tmp_path: Path) -> None:
    source = challenger_source(settings(str(tmp_path / "challenger")))
    assert isinstance(source, DirectorySource)
    assert source.path == tmp_path / "challenger"
    relative = challenger_source(settings("./v2"))
    assert isinstance(relative, DirectorySource)
    assert relative.path == Path("v2")


def test_a_bare_name_is_a_version_of_the_served_registry(tmp_path: Path) -> None:
    registry = BundleRegistry(tmp_path / "registry")
    registry.publish(write_toy_bundle(tmp_path / "v1"), "v1")
    registry.publish(write_toy_bundle(tmp_path / "v2", "v2"), "v2", make_current=False)
    source = challenger_source(settings("v2", path=registry.root))
    assert isinstance(source, DirectorySource)
    assert source.current_version() == "v2"
    assert source.load().metadata.version == "v2"


def test_a_bare_name_needs_a_registry_to_name_a_version_of(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MLSERVE_MODEL__PATH, which is unset"):
        challenger_source(settings("v2"))
    bundle = write_toy_bundle(tmp_path / "bundle")
    with pytest.raises(ConfigurationError, match="which is not one"):
        challenger_source(settings("v2", path=bundle))
