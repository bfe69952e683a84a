"""Hostile requests do not cost their neighbours on a kept-alive connection (real uvicorn)."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from k8s_mlserve import load_bundle
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.model.registry import resolve_bundle_path
from k8s_mlserve.server import create_app
from k8s_mlserve.settings import Settings
from k8s_mlserve.testing import ServerProcess

from .test_server import EXAMPLE_ROWS, NUMERIC_FIELD

pytestmark = pytest.mark.integration

ROUNDS = 20


def poisons(name: str) -> list[bytes]:
    """Requests that used to answer 500 and close the connection, for one example."""
    row = EXAMPLE_ROWS[name]
    field = NUMERIC_FIELD[name]

    def with_value(literal: bytes) -> bytes:
        return with_literal(row, field, literal)

    return [
        with_value(b"3.5e38"),  # finite, but above float32: the forests' dtype
        with_value(b"[" * 2_000 + b"]" * 2_000),  # deeper than any parser should go
        with_value(b"1" * 5_000),  # an integer literal past a double
        b'{"\\ud800": 1}',  # a lone surrogate as a field name
    ]


def with_literal(row: dict[str, Any], field: str, literal: bytes) -> bytes:
    """``row`` as JSON with ``literal`` as the raw value of ``field``."""
    return json.dumps({**row, field: "@"}).encode().replace(b'"@"', literal)


def peer_port(response: httpx.Response) -> int:
    """The client-side port of the connection that carried ``response``."""
    stream = response.extensions["network_stream"]
    address = stream.get_extra_info("client_addr")
    return int(address[1])


def alternate(client: httpx.Client, headers: dict[str, str], good: Any, bad: list[bytes]) -> None:
    ports: set[int] = set()
    raw_headers = {**headers, "Content-Type": "application/json"}
    for i in range(ROUNDS):
        poisoned = client.post("/predict", content=bad[i % len(bad)], headers=raw_headers)
        assert 400 <= poisoned.status_code < 500 or poisoned.status_code == 500, poisoned.text
        assert poisoned.headers.get("connection") != "close"
        assert poisoned.headers["x-request-id"]
        answer = client.post("/predict", json=good, headers=headers)
        assert answer.status_code == 200, (i, answer.text)
        ports.update({peer_port(poisoned), peer_port(answer)})
    assert len(ports) == 1, f"the connection was replaced {len(ports) - 1} times"


def test_poisoned_requests_spare_their_keep_alive_neighbours(
    example_server: tuple[str, ServerProcess],
) -> None:
    name, server = example_server
    bad = poisons(name)
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for raw in bad:
            response = client.post(
                "/predict",
                content=raw,
                headers={**server.headers(), "Content-Type": "application/json"},
            )
            assert 400 <= response.status_code < 500, (raw[:60], response.text)
        alternate(client, server.headers(), EXAMPLE_ROWS[name], bad)


# -- a real 500 over a real socket --------------------------------------------------------------


class FailingModel:
    """A model raising on rows whose numeric field is 13.0, as a model bug would."""

    def __init__(self, model: Any, field: str) -> None:
        self._model = model
        self._field = field

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _check(self, frame: Any) -> None:
        if (frame[self._field] == 13.0).any():
            raise RuntimeError("the model fell over")

    def predict(self, frame: Any) -> Any:
        self._check(frame)
        return self._model.predict(frame)

    def predict_proba(self, frame: Any) -> Any:
        self._check(frame)
        return self._model.predict_proba(frame)


@dataclasses.dataclass
class FixedSource:
    bundle: Bundle
    description: str = "a failing model"

    def current_version(self) -> str:
        return self.bundle.metadata.version

    def load(self) -> Bundle:
        return self.bundle


@pytest.fixture
def failing_server(registries: dict[str, Path]) -> Iterator[str]:
    bundle = load_bundle(resolve_bundle_path(registries["diabetes"]))
    # Served by scikit-learn (no compiled model), so that the failing wrapper is what runs.
    metadata = bundle.metadata.model_copy(update={"compiled": None})
    bundle = dataclasses.replace(
        bundle, model=FailingModel(bundle.model, "Glucose"), metadata=metadata
    )
    settings = Settings.model_validate({"auth": {"api_keys": ["k"]}})
    app = create_app(settings, sources=[FixedSource(bundle)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10.0) as probe:
            for _ in range(200):
                try:
                    if probe.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                threading.Event().wait(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_a_500_keeps_the_connection_for_the_next_request(failing_server: str) -> None:
    row = EXAMPLE_ROWS["diabetes"]
    headers = {"X-API-Key": "k"}
    bad = with_literal(row, "Glucose", b"13.0")
    with httpx.Client(base_url=failing_server, timeout=10.0) as client:
        response = client.post(
            "/predict", content=bad, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 500
        assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
        alternate(client, headers, row, [bad])
