"""A bound on how long a client may take to send a request's headers.

uvicorn closes a kept-alive connection that stays idle, but a connection that sends nothing, or
half of its headers, is held for ever: a few thousand such clients exhaust the file descriptors.
``BoundedH11Protocol`` is uvicorn's h11 protocol with a timer: armed when the connection opens and
after each response, it closes the connection if no complete request head has arrived when it
fires. A request whose head arrived is left alone (its body is bounded by the body read timeout).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("k8s_mlserve.server")


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections that do not send a request head in time."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, header_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served; its completion re-arms the timer
        if not self.transport.is_closing():
            log.info(
                "closed a connection from %s: no complete request head in %.0fs",
                f"{self.client[0]}:{self.client[1]}" if self.client else "a client",
                self.header_timeout,
            )
            self.transport.close()


def protocol(header_timeout: float) -> type[H11Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""
    return functools.partial(BoundedH11Protocol, header_timeout=header_timeout)  # type: ignore[return-value]
