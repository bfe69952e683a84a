"""API keys and the monitoring token, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from pydantic import SecretStr
from starlette.requests import Request


class KeyChecker:
    """Accepts a request bearing one of the configured secrets.

    Keys are read from ``X-API-Key`` or ``Authorization: Bearer``. Every configured key is
    compared (no early exit) so timing does not reveal which key came close.
    """

    def __init__(self, secrets: Sequence[SecretStr]) -> None:
        self._keys = [s.get_secret_value().encode() for s in secrets]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def allows(self, request: Request) -> bool:
        if not self._keys:
            return True
        presented = presented_key(request)
        if presented is None:
            return False
        candidate = presented.encode()
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        return matched


def presented_key(request: Request) -> str | None:
    """The key a request presents, if any."""
    header = request.headers.get("x-api-key")
    if header:
        return header.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
