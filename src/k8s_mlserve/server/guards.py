"""Route guards: an endpoint that needs the API key or the monitoring token says so once.

Used like ``starlette.authentication.requires``: ``@requires_key`` on the prediction and admin
routes, ``@requires_monitoring`` on ``/metrics``, ``/drift`` and ``/shadow``. With no key
configured the guard lets every request through (and the server says loudly that auth is off).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ..errors import UnauthorizedError
from .auth import KeyChecker
from .state import ServerState, server_state

Endpoint = Callable[[Request], Awaitable[Response]]


def _requires(
    checker: Callable[[ServerState], KeyChecker], what: str
) -> Callable[[Endpoint], Endpoint]:
    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if not checker(server_state(request)).allows(request):
                raise UnauthorizedError(f"missing or invalid {what}")
            return await endpoint(request)

        return guarded

    return decorate


requires_key = _requires(lambda state: state.api_keys, "API key")
"""Refuse requests without one of the configured API keys."""

requires_monitoring = _requires(lambda state: state.monitoring, "monitoring token")
"""Refuse requests without the monitoring token, when one is configured."""
