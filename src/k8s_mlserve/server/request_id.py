"""A request id on every request: the client's ``X-Request-ID`` when sane, else a new one.

The id is in ``scope["state"]["request_id"]`` for the routes, in :data:`current_request_id` for
log lines (:class:`RequestIdFilter` puts it on every record), and in the ``X-Request-ID`` header
of every response, errors included.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import re
import secrets
from collections.abc import Callable

from starlette.types import Scope

HEADER = "X-Request-ID"
MAX_LENGTH = 64
# Printable ASCII without spaces: safe to echo in a header and in a log line.
_SANE = re.compile(rb"[\x21-\x7e]{1,%d}" % MAX_LENGTH)

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id``: the id of the request being served, ``-`` outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def request_id_of(scope: Scope) -> str:
    """The id the middleware gave this request (``-`` outside it)."""
    state = scope.get("state") or {}
    return str(state.get("request_id", "-"))


def choose_id(sent: bytes | None, fresh: Callable[[], str]) -> str:
    """The client's id if it is at most 64 printable characters, else ``fresh()``."""
    if sent is not None and _SANE.fullmatch(sent):
        return sent.decode("ascii")
    return fresh()


class IdSequence:
    """Fresh ids: a random prefix drawn once per process, then a counter (``3f9a1c0e2b7d-1a``).

    Unique across replicas and restarts like a uuid4, for a fraction of its cost per request.
    """

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6) + "-"
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"
