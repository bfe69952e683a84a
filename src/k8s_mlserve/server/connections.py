"""A bound on how long a client may take to send a request's headers.

uvicorn closes a kept-alive connection that stays idle, but a connection that sends nothing, or
half of its headers, is held for ever: a few thousand such clients exhaust the file descriptors.
``HeadTimeout`` adds a timer to uvicorn's HTTP protocols (httptools, the faster parser, when it
is installed; else h11): armed when the connection opens and after each response, it closes the
connection if no complete request head has arrived when it fires. A request whose head arrived
is left alone (its body is bounded by the body read timeout). Re-arming only moves a deadline: the
one timer of a connection, when it fires early, sleeps again until the deadline.

With httptools, a request whose body has fully arrived is marked in its scope
(``BODY_COMPLETE``), so that reading it needs no timeout.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
from typing import Any, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("k8s_mlserve.server")

HttpSetting = Literal["auto", "httptools", "h11"]
BODY_COMPLETE = "k8s_mlserve.body_complete"
"""Scope key set to True once the server has received the whole body of the request."""


class HeadTimeout:
    """Closes connections that do not send a request head within ``header_timeout`` seconds.

    Mixed into a uvicorn HTTP protocol class, before it.
    """

    header_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None
    _head_deadline: float = 0.0
    # Provided by the uvicorn protocol this is mixed into.
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    client: tuple[str, int] | None

    def __init__(self, *args: Any, header_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._head_deadline = self.loop.time() + self.header_timeout
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.loop.time() < self._head_deadline:  # re-armed since it was scheduled
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_timed_out)
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served; its completion re-arms the timer
        if not self.transport.is_closing():
            log.info(
                "closed a connection from %s: no complete request head in %.0fs",
                f"{self.client[0]}:{self.client[1]}" if self.client else "a client",
                self.header_timeout,
            )
            self.transport.close()


class BodyMark:
    """Marks the scope of a request whose body has fully arrived (httptools' protocol)."""

    cycle: Any

    def on_message_complete(self) -> None:
        super().on_message_complete()  # type: ignore[misc]
        if self.cycle is not None:
            self.cycle.scope[BODY_COMPLETE] = True


class BoundedH11Protocol(HeadTimeout, H11Protocol):
    """uvicorn's h11 protocol with the head timeout."""


def httptools_available() -> bool:
    return importlib.util.find_spec("httptools") is not None


def protocol_class(http: HttpSetting = "auto") -> type[asyncio.Protocol]:
    """The protocol class for ``http``: httptools when installed under ``auto``."""
    if http == "h11" or (http == "auto" and not httptools_available()):
        return BoundedH11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    bounded: type[asyncio.Protocol] = type(
        "BoundedHttpToolsProtocol", (HeadTimeout, BodyMark, HttpToolsProtocol), {}
    )
    return bounded


def protocol(header_timeout: float, http: HttpSetting = "auto") -> type[asyncio.Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""
    bounded: Any = protocol_class(http)
    factory: Any = functools.partial(bounded, header_timeout=header_timeout)
    return factory  # type: ignore[no-any-return]
