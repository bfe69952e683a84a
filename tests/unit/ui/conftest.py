"""The page's modules against the real app in process: the toy model (``toy_model``) served by
``create_app`` behind ``InProcessApp``, reached by ``ApiClient`` through a bridging transport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from k8s_mlserve.model.bundle import Bundle, load_bundle
from k8s_mlserve.server import create_app
from k8s_mlserve.settings import Settings
from k8s_mlserve.testing.inprocess import InProcessApp
from k8s_mlserve.ui.client import ApiClient

from ..toy_model import FakeSource, write_toy_bundle

API_KEY = "ui-unit-key"
MONITORING_TOKEN = "ui-unit-token"


class Bridge(httpx.BaseTransport):
    """A synchronous transport that hands each request to an app served in process."""

    def __init__(self, app: InProcessApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.app.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture(scope="session")
def toy_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(write_toy_bundle(tmp_path_factory.mktemp("toy") / "v1"))


ClientFactory = Callable[..., ApiClient]


@pytest.fixture
def connect(toy_bundle: Bundle) -> Iterator[ClientFactory]:
    """connect(api_key=..., monitoring_token=..., source=...) -> a page client of a fresh app
    serving the toy model with ``API_KEY`` and ``MONITORING_TOKEN``."""
    apps: list[InProcessApp] = []
    clients: list[ApiClient] = []

    def factory(
        *,
        api_key: str | None = API_KEY,
        monitoring_token: str | None = MONITORING_TOKEN,
        source: FakeSource | None = None,
    ) -> ApiClient:
        settings = Settings.model_validate(
            {
                "auth": {"api_keys": [API_KEY], "monitoring_token": MONITORING_TOKEN},
                "model": {"poll_interval": 3600},
                "drift": {"interval": 3600},
            }
        )
        served = source or FakeSource(toy_bundle)
        app = InProcessApp(create_app(settings, sources=[served]))
        app.__enter__()
        apps.append(app)
        if source is None:
            app.wait_until_ready()
        client = ApiClient(
            "http://testserver",
            api_key=api_key,
            monitoring_token=monitoring_token,
            transport=Bridge(app),
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
    for app in apps:
        app.__exit__(None, None, None)


@pytest.fixture
def document(connect: ClientFactory) -> dict[str, Any]:
    """The toy model's OpenAPI document as the server serves it."""
    reply = connect().openapi()
    assert reply.ok, reply.message
    body: dict[str, Any] = reply.body
    return body
