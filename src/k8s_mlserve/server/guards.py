"""Route guards: an endpoint that needs the API key or the monitoring token says so once.

Used like ``starlette.authentication.requires``: ``@requires_key`` on the prediction and admin
routes, ``@requires_monitoring`` on ``/metrics`` and ``/drift``. With no key configured the guard
lets every request through (and the server says loudly that auth is off).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ..errors import UnauthorizedError
from .state import server_state

Endpoint = Callable[[Request], Awaitable[Response]]


def requires_key(endpoint: Endpoint) -> Endpoint:
    """Refuse requests without one of the configured API keys."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if not server_state(request).api_keys.allows(request):
            raise UnauthorizedError("missing or invalid API key")
        return await endpoint(request)

    return guarded


def requires_monitoring(endpoint: Endpoint) -> Endpoint:
    """Refuse requests without the monitoring token, when one is configured."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if not server_state(request).monitoring.allows(request):
            raise UnauthorizedError("missing or invalid monitoring token")
        return await endpoint(request)

    return guarded
