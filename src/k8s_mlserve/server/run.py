"""Running the app under uvicorn with Kubernetes-friendly shutdown."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from types import FrameType

import uvicorn

from ..settings import Settings
from .app import create_app
from .connections import protocol
from .request_id import RequestIdFilter
from .state import ServerState


class DrainingServer(uvicorn.Server):
    """A uvicorn server that fails readiness at once on SIGTERM, then drains and exits 0.

    After the signal, ``/ready`` answers 503 while the server keeps serving for
    ``drain_seconds``; then uvicorn stops accepting connections and gives in-flight requests
    ``shutdown_timeout`` seconds to finish. SIGTERM is the normal way a pod ends, so the process
    exits 0 instead of re-raising the signal.
    """

    def __init__(self, config: uvicorn.Config, state: ServerState, drain_seconds: float) -> None:
        super().__init__(config)
        self._state = state
        self._drain_seconds = drain_seconds
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._state.begin_shutdown()
        if sig == signal.SIGTERM:
            if self._draining:
                return
            self._draining = True
            logging.getLogger("k8s_mlserve.server").info(
                "SIGTERM: readiness off, draining for %.1fs", self._drain_seconds
            )
            if self._drain_seconds > 0:
                timer = threading.Timer(self._drain_seconds, self._stop)
                timer.daemon = True
                timer.start()
            else:
                self._stop()
            return
        super().handle_exit(sig, frame)

    def _stop(self) -> None:
        self.should_exit = True


YOUNG_GC_THRESHOLD = 10_000
"""Allocations between two young garbage collections in the server process (Python: 700)."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(level: str) -> None:
    """Log to stderr; every line names the request it was written for (``-`` outside one)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT; returns after a clean shutdown."""
    configure_logging(settings.server.log_level)
    # A request's objects die young and are freed by reference counting; what a young
    # collection finds is mostly the live objects of requests in flight. At the default threshold
    # (700 allocations) that is thousands of collections a second under load, 3 % of the CPU.
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
    app = create_app(settings)
    server_settings = settings.server
    config = uvicorn.Config(
        app,
        host=server_settings.host,
        port=server_settings.port,
        log_level=server_settings.log_level,
        timeout_graceful_shutdown=int(server_settings.shutdown_timeout),
        access_log=False,
        log_config=None,  # uvicorn's own lines go through the root handler: same format and id
        lifespan="on",
        server_header=False,
        # Nothing here reads the client address, and in a cluster the peer is a Service or an
        # ingress controller, never the 127.0.0.1 uvicorn trusts by default: no rewriting layer.
        proxy_headers=False,
        limit_concurrency=server_settings.max_connections,
        http=protocol(server_settings.header_timeout, server_settings.http),
        timeout_keep_alive=int(max(1, server_settings.keep_alive_seconds)),
    )
    server = DrainingServer(config, app.state.mlserve, server_settings.drain_seconds)
    server.run()
