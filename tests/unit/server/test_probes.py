"""Kubernetes probes: liveness, readiness and startup while loading, failing, serving, stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from k8s_mlserve.errors import ConfigurationError, ModelSourceError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.model.registry import BundleRegistry
from k8s_mlserve.server import create_app
from k8s_mlserve.server.state import ServerState
from k8s_mlserve.sources import DirectorySource
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, FakeSource, record_scikit_learn, write_toy_bundle
from .conftest import ClientFactory, key, make_settings


class GatedSource(FakeSource):
    """A source whose ``load`` waits until the test opens the gate."""

    def __init__(self, bundle: Bundle) -> None:
        super().__init__(bundle)
        self.gate = threading.Event()

    def load(self) -> Bundle:
        if not self.gate.wait(timeout=30):
            raise AssertionError("the test never opened the gate")
        return super().load()


@pytest.fixture
def gated(toy_bundle: Bundle) -> Iterator[GatedSource]:
    source = GatedSource(toy_bundle)
    try:
        yield source
    finally:
        source.gate.set()  # never leave a loader thread waiting


def answer(client: InProcessApp, route: str) -> tuple[int, object]:
    response = client.get(route)
    return response.status_code, response.json()


def wait_until_started(client: InProcessApp, attempts: int = 1000) -> None:
    """Poll /startup until the first load attempt has finished."""
    for _ in range(attempts):
        if client.get("/startup").status_code == 200:
            return
        time.sleep(0.01)
    raise AssertionError(f"/startup never answered 200: {client.get('/startup').text}")


def state_of(client: InProcessApp) -> ServerState:
    assert isinstance(client.app, Starlette)
    state: ServerState = client.app.state.mlserve
    return state


def test_while_the_model_loads_only_liveness_passes(
    client_factory: ClientFactory, gated: GatedSource
) -> None:
    client = client_factory(gated, wait=False)
    assert answer(client, "/health") == (200, {"status": "ok", "model_loaded": False})
    assert answer(client, "/startup") == (503, {"status": "starting"})
    assert answer(client, "/ready") == (
        503,
        {"status": "not ready", "reason": "the model is still loading"},
    )
    assert answer(client, "/v2/health/ready") == (503, {"ready": False})
    gated.gate.set()
    client.wait_until_ready()
    assert answer(client, "/health") == (200, {"status": "ok", "model_loaded": True})
    assert answer(client, "/startup") == (200, {"status": "started", "model_loaded": True})
    assert answer(client, "/ready") == (200, {"status": "ready", "model_version": "v1"})
    assert answer(client, "/v2/health/ready") == (200, {"ready": True})


def test_while_the_source_fails_readiness_gives_the_load_error(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    source = FakeSource(None)
    source.error = ConfigurationError("the volume is not mounted yet")
    client = client_factory(source, wait=False)
    wait_until_started(client)
    assert answer(client, "/startup") == (200, {"status": "started", "model_loaded": False})
    assert answer(client, "/ready") == (
        503,
        {"status": "not ready", "reason": "fake source: the volume is not mounted yet"},
    )
    assert answer(client, "/health") == (200, {"status": "ok", "model_loaded": False})

    # Once the volume is there, a reload serves the model without waiting for the next retry.
    source.error, source.bundle = None, toy_bundle
    assert client.post("/admin/reload", headers=key()).status_code == 200
    assert answer(client, "/ready") == (200, {"status": "ready", "model_version": "v1"})
    assert answer(client, "/health") == (200, {"status": "ok", "model_loaded": True})


def test_a_failed_reload_keeps_readiness_and_says_why(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    source = FakeSource(toy_bundle)
    client = client_factory(source)
    source.error = ModelSourceError("the registry is down")
    assert client.post("/admin/reload", headers=key()).status_code == 409
    assert answer(client, "/ready") == (
        200,
        {
            "status": "ready",
            "model_version": "v1",
            "last_reload_error": "fake source: the registry is down",
        },
    )


def test_a_bundle_for_another_scikit_learn_is_refused_like_a_bad_bundle(tmp_path: Path) -> None:
    """Not ready at start with the reason; on reload the served version is kept."""
    registry = BundleRegistry(tmp_path / "toy")

    def publish(version: str, scikit_learn: str | None = None) -> None:
        bundle = write_toy_bundle(registry.staging_dir() / "bundle", version)
        if scikit_learn is not None:
            record_scikit_learn(bundle, scikit_learn)
        registry.publish(bundle, version)

    publish("v1", "0.99.0")
    app = create_app(make_settings(), sources=[DirectorySource(registry.root)])
    with InProcessApp(app) as client:
        wait_until_started(client)
        status, body = answer(client, "/ready")
        assert status == 503
        assert isinstance(body, dict)
        assert body["reason"].startswith(
            f"directory {registry.root}: bundle {registry.version_path('v1')} (model "
            f"'{MODEL_NAME}' version v1) was written with scikit-learn 0.99.0 but scikit-learn "
        )
        assert body["reason"].endswith(
            "set MLSERVE_MODEL__ALLOW_VERSION_MISMATCH=true to serve anyway"
        )

        publish("v2")
        assert client.post("/admin/reload", headers=key()).status_code == 200
        publish("v3", "0.99.0")
        assert client.post("/admin/reload", headers=key()).status_code == 409
        status, body = answer(client, "/ready")
        assert status == 200
        assert isinstance(body, dict)
        assert body["model_version"] == "v2"
        assert "was written with scikit-learn 0.99.0" in body["last_reload_error"]
        version = client.get("/version", headers=key()).json()
        assert version["version"] == "v2"
        assert "scikit-learn==0.99.*" in version["last_reload"]["message"]


def test_once_shutdown_begins_readiness_fails_and_liveness_does_not(client: InProcessApp) -> None:
    state_of(client).begin_shutdown()
    assert answer(client, "/ready") == (503, {"status": "not ready", "reason": "shutting down"})
    assert answer(client, "/v2/health/ready") == (503, {"ready": False})
    assert answer(client, f"/v2/models/{MODEL_NAME}/ready") == (
        503,
        {"name": MODEL_NAME, "ready": False},
    )
    assert answer(client, f"/v1/models/{MODEL_NAME}") == (
        200,
        {"name": MODEL_NAME, "ready": False},
    )
    assert answer(client, "/health") == (200, {"status": "ok", "model_loaded": True})
    assert answer(client, "/v2/health/live") == (200, {"live": True})
