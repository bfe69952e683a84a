"""The server in process: the toy model (``toy_model``) behind a fake source, driven through
``InProcessApp`` (the app's real lifespan over ``httpx.ASGITransport``, no socket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from k8s_mlserve.model.bundle import Bundle, load_bundle
from k8s_mlserve.server import create_app
from k8s_mlserve.settings import Settings
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import FakeSource, write_toy_bundle

API_KEY = "unit-test-key"
MONITORING_TOKEN = "unit-test-token"


@pytest.fixture(scope="session")
def toy_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(write_toy_bundle(tmp_path_factory.mktemp("toy") / "v1"))


def make_settings(**sections: dict[str, Any]) -> Settings:
    """Settings with the test key and token, poll and drift loops slowed out of the way."""
    data: dict[str, Any] = {
        "auth": {"api_keys": [API_KEY], "monitoring_token": MONITORING_TOKEN},
        "model": {"poll_interval": 3600},
        "drift": {"interval": 3600},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Settings.model_validate(data)


ClientFactory = Callable[..., InProcessApp]


@pytest.fixture
def client_factory() -> Iterator[ClientFactory]:
    """Start apps in process: factory(source, **settings sections) -> a client, lifespan on.

    With ``wait`` (the default), the client is returned once the model is served.
    """
    clients: list[InProcessApp] = []

    def factory(
        source: FakeSource, *, wait: bool = True, **sections: dict[str, Any]
    ) -> InProcessApp:
        client = InProcessApp(create_app(make_settings(**sections), sources=[source]))
        client.__enter__()
        clients.append(client)
        if wait:
            client.wait_until_ready()
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: ClientFactory, toy_bundle: Bundle) -> InProcessApp:
    """An app serving the toy model, with the test API key and monitoring token."""
    return client_factory(FakeSource(toy_bundle))


@pytest.fixture(scope="module")
def shared_client(toy_bundle: Bundle) -> Iterator[InProcessApp]:
    """One app like ``client`` for all the tests of a module that only ask and read answers.

    Starting an app costs a model load (over 0.1 s); tests that reload, count metrics or need
    other settings take their own app from ``client`` or ``client_factory``.
    """
    with InProcessApp(create_app(make_settings(), sources=[FakeSource(toy_bundle)])) as app:
        app.wait_until_ready()
        yield app


def key() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


def monitoring() -> dict[str, str]:
    return {"Authorization": f"Bearer {MONITORING_TOKEN}"}
