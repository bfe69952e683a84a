"""Polling until something is true, with a message saying what was awaited on timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StopWaiting(BaseException):
    """Raised by a ``wait_for`` condition to end the wait at once by raising ``error``.

    A ``BaseException`` on purpose: ``wait_for`` takes any ``Exception`` raised by its condition
    for "not yet" (a server still starting refuses connections), but a dead process or a failed
    Job will not get better by waiting.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
) -> T:
    """Call ``condition`` until it returns something truthy; on timeout say what was awaited.

    An exception from ``condition`` means "not yet", except ``StopWaiting``, whose error is
    raised at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except StopWaiting as stop:
            raise stop.error from None
        except Exception as exc:  # a failing probe is just "not yet"
            last_error = exc
        else:
            if value:
                return value
        time.sleep(interval)
    detail = f"; last error: {last_error!r}" if last_error else ""
    context = f"\n{describe()}" if describe else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}{context}")
