"""Which HTTP protocol the server runs: httptools by default, h11 on request, both bounded."""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from k8s_mlserve.server.connections import BoundedH11Protocol, HeadTimeout, protocol_class


def test_auto_is_httptools_which_is_installed_with_the_server() -> None:
    chosen = protocol_class("auto")
    assert issubclass(chosen, HttpToolsProtocol)
    assert issubclass(chosen, HeadTimeout)


def test_h11_can_be_chosen_and_keeps_the_head_timeout() -> None:
    chosen = protocol_class("h11")
    assert chosen is BoundedH11Protocol
    assert issubclass(chosen, H11Protocol)
    assert issubclass(chosen, HeadTimeout)
