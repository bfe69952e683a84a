"""An ASGI app served in process: no socket, no subprocess, the real lifespan.

``InProcessApp(app)`` runs the app's lifespan (startup and shutdown, as uvicorn sends them) on an
event loop in a background thread and sends requests through ``httpx.ASGITransport``, so a test
calls it like any HTTP client::

    with InProcessApp(create_app(settings, sources=[my_source])) as client:
        client.wait_until_ready()
        assert client.post("/predict", json=row, headers=headers).status_code == 200

Reserve real servers (``ServerProcess``) for what needs a socket: signals, timeouts, keep-alive.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp, Message

T = TypeVar("T")


class InProcessApp:
    """A synchronous HTTP client of an ASGI app whose lifespan runs on a background loop."""

    def __init__(self, app: ASGIApp, *, base_url: str = "http://testserver") -> None:
        self.app = app
        self.base_url = base_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._client: httpx.AsyncClient | None = None
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: asyncio.Queue[Message] | None = None
        self._lifespan: asyncio.Task[None] | None = None

    def __enter__(self) -> InProcessApp:
        self._thread.start()
        self._run(self._startup())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._run(self._shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None, "use InProcessApp as a context manager"
        return self._run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def wait_until_ready(self, *, attempts: int = 1000, interval: float = 0.01) -> None:
        """Poll ``/ready`` until it answers 200; ``AssertionError`` with its last answer if not."""
        for _ in range(attempts):
            response = self.get("/ready")
            if response.status_code == 200:
                return
            time.sleep(interval)
        raise AssertionError(f"the app never got ready: {response.status_code} {response.text}")

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _startup(self) -> None:
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.create_task(
            self.app(scope, self._to_app.get, self._from_app.put)  # type: ignore[arg-type]
        )
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._from_app.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app failed to start: {answer.get('message', answer)}")
        transport = httpx.ASGITransport(app=self.app)
        self._client = httpx.AsyncClient(transport=transport, base_url=self.base_url)

    async def _shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._to_app is None or self._from_app is None or self._lifespan is None:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        answer = await self._from_app.get()
        await self._lifespan
        if answer["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"the app failed to shut down: {answer.get('message', answer)}")
