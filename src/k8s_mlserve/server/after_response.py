"""Work a request leaves for after its answer has been sent (e.g. queueing it for the challenger).

``Edge`` opens a list per request (``begin``) and runs what was added to it once the route has
sent its answer (``finish``). ``after_response`` called outside a request runs the work at once.
Work must be quick and must not raise; an exception is logged and the next item still runs.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable

log = logging.getLogger("k8s_mlserve.server")

Work = Callable[[], object]

_pending: contextvars.ContextVar[list[Work] | None] = contextvars.ContextVar(
    "after_response", default=None
)


def after_response(work: Work) -> None:
    """Run ``work`` once the current request's answer is sent (now, outside a request)."""
    pending = _pending.get()
    if pending is None:
        _run([work])
    else:
        pending.append(work)


def begin() -> contextvars.Token[list[Work] | None]:
    """Open the current request's list; give the token to ``finish``."""
    return _pending.set([])


def finish(token: contextvars.Token[list[Work] | None]) -> None:
    """Run the current request's work, then close its list."""
    pending = _pending.get()
    _pending.reset(token)
    if pending:
        _run(pending)


def _run(work: list[Work]) -> None:
    for item in work:
        try:
            item()
        except Exception:  # the answer is sent: nothing may fail the request now
            log.exception("work after a response failed")
