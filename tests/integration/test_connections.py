"""Slow, silent and kept-alive clients against a real server: bounded, never held for ever."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from k8s_mlserve.testing import ServerProcess

pytestmark = pytest.mark.integration

ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
PATIENCE = 30.0  # how long the test itself waits: far above the server's limits below


@pytest.fixture(params=["httptools", "h11"])
def server(request: pytest.FixtureRequest, registries: dict[str, Path]) -> Iterator[ServerProcess]:
    """A server with short limits, on each HTTP parser."""
    env = {
        "MLSERVE_SERVER__HTTP": request.param,
        "MLSERVE_MODEL__PATH": str(registries["iris"]),
        "MLSERVE_SERVER__HEADER_TIMEOUT": "1",
        "MLSERVE_SERVER__KEEP_ALIVE_SECONDS": "1",
        "MLSERVE_SERVER__MAX_CONNECTIONS": "4",
        "MLSERVE_SERVER__DRAIN_SECONDS": "3",
        "MLSERVE_SERVER__BODY_TIMEOUT": "1",
    }
    with ServerProcess(env) as process:
        yield process


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(PATIENCE)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection (rather than the test giving up)."""
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    finally:
        sock.close()


def test_silent_and_half_sent_heads_are_closed(server: ServerProcess) -> None:
    silent = _connect(server)
    half = _connect(server)
    half.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    assert _closed_by_server(silent)
    assert _closed_by_server(half)
    assert "no complete request head" in server.log()
    assert server.client.get("/health").status_code == 200


def test_a_body_that_stops_coming_gets_408(server: ServerProcess) -> None:
    sock = _connect(server)
    head = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n"
    sock.sendall(head.encode() + b'{"sepal_length": 5.1,')
    answer = b""
    try:
        while chunk := sock.recv(4096):  # the answer, until the server closes the connection
            answer += chunk
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"MLSERVE_SERVER__BODY_TIMEOUT" in answer


def test_connections_beyond_the_limit_get_503_not_a_hang(server: ServerProcess) -> None:
    held = [_connect(server) for _ in range(4)]
    try:
        with httpx.Client(base_url=server.url, timeout=PATIENCE) as client:
            assert client.get("/health").status_code == 503
    finally:
        for sock in held:
            sock.close()


def test_responses_during_the_drain_close_the_connection(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=PATIENCE) as client:
        first = client.get("/health")
        assert "close" not in first.headers.get("connection", "")
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        server.wait_until("/ready", status=503, timeout=PATIENCE)
        answer = client.get("/health")
        assert answer.status_code == 200
        assert answer.headers["connection"] == "close"
