"""The page's client of a running server: every answer or failure as something to show.

Nothing here raises on a bad status or a lost connection; each call returns a ``Reply`` whose
``message`` says in a sentence what went wrong (a wrong key, invalid input, no model yet).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_TIMEOUT = 30.0
_FIELD_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class Reply:
    """One answer of the server: its status and JSON body, or why there was none."""

    status: int | None  # None: the server was not reached
    body: Any = None
    message: str = ""  # empty when the request succeeded
    seconds: float = 0.0
    details: list[dict[str, Any]] = field(default_factory=list)  # a 422's field errors

    @property
    def ok(self) -> bool:
        """The server answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


def explain(status: int, body: Any, *, what: str = "the request") -> str:
    """A sentence for an error answer, with the server's own message."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        server_message = str(error.get("message", ""))
    elif isinstance(error, str):
        server_message = error
    else:
        server_message = str(body or "").strip()[:300]
    if status == 401:
        return (
            f"The server refused {what}: {server_message or 'missing or invalid key'}. "
            "Check the API key (or monitoring token) the page was started with."
        )
    if status == 422:
        lines = [f"The server did not accept the input: {server_message}"]
        details = error.get("details", []) if isinstance(error, Mapping) else []
        for detail in details[:_FIELD_ERRORS_SHOWN]:
            if isinstance(detail, Mapping):
                lines.append(f"{detail.get('field', 'input')}: {detail.get('message', '')}")
        return "\n".join(lines)
    if status == 503:
        return (
            "The server has no model ready yet (503); it may still be starting. "
            f"Try again in a moment. {server_message}".rstrip()
        )
    return f"The server answered {status} to {what}: {server_message or 'no details'}"


class ApiClient:
    """The routes the page uses, with the API key in ``X-API-Key``."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        monitoring_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._monitoring_token = monitoring_token
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        started = time.perf_counter()
        try:
            response = self._http.request(method, path, json=json, headers=headers)
        except httpx.TimeoutException:
            return Reply(None, message=f"The server at {self.url} did not answer {what} in time.")
        except httpx.HTTPError as exc:
            return Reply(
                None,
                message=f"Cannot reach the server at {self.url} ({type(exc).__name__}: {exc}). "
                "Is it running, and is the address right?",
            )
        seconds = time.perf_counter() - started
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.is_success:
            return Reply(response.status_code, body, seconds=seconds)
        error = body.get("error") if isinstance(body, dict) else None
        details = error.get("details", []) if isinstance(error, dict) else []
        return Reply(
            response.status_code,
            body,
            message=explain(response.status_code, body, what=what),
            seconds=seconds,
            details=[d for d in details if isinstance(d, dict)],
        )

    def info(self) -> Reply:
        """``GET /``: the service, the model and whether auth is on."""
        return self._call("GET", "/", what="the service information")

    def version(self) -> Reply:
        """``GET /version``: the model's name, version, algorithm, training time and metrics."""
        return self._call("GET", "/version", what="the model version")

    def health(self) -> Reply:
        """``GET /health``: the process is alive."""
        return self._call("GET", "/health", what="the health check")

    def ready(self) -> Reply:
        """``GET /ready``: a model is loaded and serving."""
        return self._call("GET", "/ready", what="the readiness check")

    def openapi(self) -> Reply:
        """``GET /openapi.json``: the API description, with the model's input schema."""
        return self._call("GET", "/openapi.json", what="the API description")

    def predict(self, row: Mapping[str, Any]) -> Reply:
        """``POST /predict`` with one row."""
        return self._call("POST", "/predict", json=dict(row), what="the prediction")

    def predict_many(self, rows: list[dict[str, Any]]) -> Reply:
        """``POST /predict`` with ``{"instances": rows}``."""
        return self._call("POST", "/predict", json={"instances": rows}, what="the predictions")

    @property
    def can_watch_drift(self) -> bool:
        """A monitoring token was given."""
        return bool(self._monitoring_token)

    def drift(self, *, histograms: bool = False) -> Reply:
        """``GET /drift`` with the monitoring token; ``histograms`` adds each feature's."""
        headers = {"Authorization": f"Bearer {self._monitoring_token}"}
        path = "/drift?histograms=true" if histograms else "/drift"
        return self._call("GET", path, headers=headers, what="the drift report")
