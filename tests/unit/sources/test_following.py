"""The following source: start from the first source that loads, then follow one."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve import ModelSourceError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.sources import FollowingSource, ModelSource

# -- resolution order --------------------------------------------------------------------------


class FakeSource:
    def __init__(self, description: str, version: str | None, bundle: Any = None) -> None:
        self.description = description
        self.version = version
        self.bundle = bundle
        self.loads = 0

    def current_version(self) -> str:
        if self.version is None:
            raise ModelSourceError(f"{self.description} is down")
        return self.version

    def load(self) -> Bundle:
        self.loads += 1
        if self.version is None:
            raise ModelSourceError(f"{self.description} is down")
        bundle: Bundle = self.bundle
        return bundle


def test_following_source_starts_from_the_first_that_loads_then_follows() -> None:
    cached, latest = object(), object()
    pvc = FakeSource("pvc", None)
    cache = FakeSource("cache", "v1", bundle=cached)
    mlflow = FakeSource("mlflow", None, bundle=latest)
    source = FollowingSource([pvc, cache, mlflow], follow=mlflow)
    assert isinstance(source, ModelSource)

    assert source.load() is cached
    assert source.description == "cache"
    assert (pvc.loads, cache.loads, mlflow.loads) == (1, 1, 0)

    # From now on only the followed source is asked, even while it fails.
    with pytest.raises(ModelSourceError, match="mlflow is down"):
        source.current_version()
    assert source.description == "mlflow"
    mlflow.version = "v2"
    assert source.current_version() == "v2"
    assert source.load() is latest
    assert cache.loads == 1


def test_following_source_reports_every_start_failure() -> None:
    source = FollowingSource(
        [FakeSource("pvc", None), FakeSource("mlflow", None)], follow=FakeSource("mlflow", None)
    )
    with pytest.raises(ModelSourceError, match=r"^pvc: pvc is down; mlflow: mlflow is down$"):
        source.load()
    assert source.description == FollowingSource.START_DESCRIPTION
    assert not source.started
