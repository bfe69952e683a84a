"""API keys and the monitoring token, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from pydantic import SecretStr
from starlette.requests import Request


class KeyChecker:
    """Accepts a request bearing one of the configured secrets.

    Keys are read from ``X-API-Key`` and ``Authorization: Bearer``; a request may carry both (an
    API key and the monitoring token, say) and either may match. Every configured key is compared
    with every presented one (no early exit), so timing does not reveal which key came close.
    """

    def __init__(self, secrets: Sequence[SecretStr]) -> None:
        self._keys = [s.get_secret_value().encode() for s in secrets]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def allows(self, request: Request) -> bool:
        if not self._keys:
            return True
        matched = False
        for presented in presented_keys(request):
            candidate = presented.encode()
            for key in self._keys:
                matched |= hmac.compare_digest(candidate, key)
        return matched


def presented_keys(request: Request) -> list[str]:
    """The keys a request presents: ``X-API-Key``, then the ``Authorization: Bearer`` token."""
    keys = []
    header = request.headers.get("x-api-key", "").strip()
    if header:
        keys.append(header)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        keys.append(token.strip())
    return keys
