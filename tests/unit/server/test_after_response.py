"""Work left for after a request's answer: run once the answer is sent, never failing it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import pytest
from starlette.types import Message, Receive, Scope, Send

from k8s_mlserve.server import after_response
from k8s_mlserve.server.edge import Edge
from k8s_mlserve.server.metrics import ServerMetrics
from k8s_mlserve.server.state import ServerState


def test_work_waits_for_the_end_of_the_request() -> None:
    done: list[str] = []
    token = after_response.begin()
    after_response.after_response(lambda: done.append("first"))
    after_response.after_response(lambda: done.append("second"))
    assert done == []
    after_response.finish(token)
    assert done == ["first", "second"]
    after_response.after_response(lambda: done.append("outside"))  # no request: at once
    assert done == ["first", "second", "outside"]


def test_a_failure_is_logged_and_the_rest_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []

    def fail() -> None:
        raise RuntimeError("boom")

    token = after_response.begin()
    after_response.after_response(fail)
    after_response.after_response(lambda: done.append("after"))
    after_response.finish(token)
    assert done == ["after"]
    assert "work after a response failed" in caplog.text


def test_the_edge_runs_the_work_once_the_answer_is_sent() -> None:
    events: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        after_response.after_response(lambda: events.append("work"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})
        events.append("returned")

    async def send(message: Message) -> None:
        events.append(message["type"])

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    shadow = SimpleNamespace(enabled=True)  # the edge opens the list only for shadow scoring
    state = cast(
        ServerState, SimpleNamespace(metrics=ServerMetrics(), shutting_down=False, shadow=shadow)
    )
    edge = Edge(endpoint, routes={}, state=state)
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(edge(scope, receive, send))
    assert events == ["http.response.start", "http.response.body", "returned", "work"]
