"""How ``build_sources`` orders the bundle, the cache and MLflow, and what it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve import ConfigurationError
from k8s_mlserve.settings import Settings
from k8s_mlserve.sources import DirectorySource, FollowingSource, build_sources


def settings(**model: Any) -> Settings:
    return Settings.model_validate({"model": model, "mlflow": {"tracking_uri": "http://mlflow"}})


def test_build_sources_without_uri_is_the_directory(tmp_path: Path) -> None:
    (source,) = build_sources(settings(path=tmp_path))
    assert isinstance(source, DirectorySource)


def test_build_sources_orders_bundle_cache_and_mlflow(tmp_path: Path) -> None:
    uri = "models:/iris-model@champion"
    (source,) = build_sources(settings(path=tmp_path / "pvc", uri=uri, cache_dir=tmp_path / "c"))
    assert isinstance(source, FollowingSource)
    assert [s.description for s in source.start] == [
        f"directory {tmp_path / 'pvc'}",
        f"directory {tmp_path / 'c' / 'iris-model'}",
        f"mlflow {uri}",
    ]
    assert source.follow is source.start[-1]

    (mlflow_first,) = build_sources(
        settings(uri=uri, cache_dir=tmp_path / "c", resolution="mlflow,bundle")
    )
    assert isinstance(mlflow_first, FollowingSource)
    assert [s.description for s in mlflow_first.start] == [
        f"mlflow {uri}",
        f"directory {tmp_path / 'c' / 'iris-model'}",
    ]


def test_build_sources_passes_on_whether_a_version_mismatch_is_allowed(tmp_path: Path) -> None:
    from k8s_mlserve.sources.mlflow.source import MLflowSource

    for allowed in (False, True):
        (directory,) = build_sources(settings(path=tmp_path, allow_version_mismatch=allowed))
        assert isinstance(directory, DirectorySource)
        assert directory.allow_version_mismatch is allowed
        (following,) = build_sources(
            settings(
                path=tmp_path,
                uri="models:/m@champion",
                cache_dir=tmp_path / "c",
                allow_version_mismatch=allowed,
            )
        )
        assert isinstance(following, FollowingSource)
        *directories, mlflow = following.start
        for directory in directories:
            assert isinstance(directory, DirectorySource)
            assert directory.allow_version_mismatch is allowed
        assert isinstance(mlflow, MLflowSource)
        assert mlflow.allow_version_mismatch is allowed
        assert mlflow.cache is not None
        assert mlflow.cache.allow_version_mismatch is allowed


def test_build_sources_needs_a_tracking_uri_and_a_usable_order(tmp_path: Path) -> None:
    no_tracking = Settings.model_validate({"model": {"uri": "models:/m@champion"}})
    no_tracking.mlflow.tracking_uri = None
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_URI"):
        build_sources(no_tracking)
    with pytest.raises(ConfigurationError, match="RESOLUTION=mlflow"):
        build_sources(settings(path=tmp_path, resolution="mlflow"))


def test_a_directory_server_never_imports_mlflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from k8s_mlserve.settings import Settings\n"
        "from k8s_mlserve.sources import build_sources\n"
        f"build_sources(Settings.model_validate({{'model': {{'path': {str(tmp_path)!r}}}}}))\n"
        "import k8s_mlserve.server\n"
        "print('mlflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_path_fails_at_once_naming_the_path_and_the_setting(tmp_path: Path) -> None:
    (tmp_path / "iris").mkdir()
    with pytest.raises(ConfigurationError) as typo:
        build_sources(settings(path=tmp_path / "irsi", wait_for_path=False))
    assert str(typo.value) == (
        f"model path {tmp_path / 'irsi'} does not exist (its parent directory {tmp_path} exists; "
        f"did you mean {tmp_path / 'iris'}?): check MLSERVE_MODEL__PATH (serve --bundle), or set "
        "MLSERVE_MODEL__WAIT_FOR_PATH=true to wait for it to appear (the default inside "
        "Kubernetes, where a volume may be mounted late)"
    )
    with pytest.raises(ConfigurationError, match="nor does its parent directory") as nowhere:
        build_sources(settings(path=tmp_path / "no" / "where", wait_for_path=False))
    assert f"model path {tmp_path / 'no' / 'where'} does not exist" in str(nowhere.value)


def test_a_missing_path_is_waited_for_when_the_settings_say_so(tmp_path: Path) -> None:
    (source,) = build_sources(settings(path=tmp_path / "later", wait_for_path=True))
    assert isinstance(source, DirectorySource)
    assert source.path == tmp_path / "later"


def test_a_missing_path_is_only_the_first_source_when_mlflow_follows(tmp_path: Path) -> None:
    (source,) = build_sources(
        settings(
            path=tmp_path / "pvc",
            uri="models:/m@champion",
            cache_dir=tmp_path / "c",
            wait_for_path=False,
        )
    )
    assert isinstance(source, FollowingSource)
    assert source.start[0].description == f"directory {tmp_path / 'pvc'}"
