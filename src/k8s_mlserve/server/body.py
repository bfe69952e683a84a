"""Reading request bodies: size limit, JSON parsing, instance extraction."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import Request

from ..errors import MalformedRequestError, RequestTooLargeError
from ..model.schema import json_type


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise RequestTooLargeError(
                    f"body of {declared} bytes exceeds the limit of {limit} bytes"
                )
        except ValueError as exc:
            raise MalformedRequestError("invalid Content-Length header") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLargeError(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse JSON; NaN and Infinity are accepted here so that validation can name the field."""
    if not raw.strip():
        raise MalformedRequestError("empty body; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedRequestError(f"malformed JSON: {exc}") from exc


def extract_instances(payload: Any) -> tuple[list[Any], bool]:
    """Rows to predict and whether the request was a single object.

    Accepts one JSON object (one row) or ``{"instances": [row, ...]}``; the row count and the
    rows themselves are checked by the model manager, as for every protocol.
    """
    if isinstance(payload, dict):
        if set(payload) == {"instances"}:
            instances = payload["instances"]
            if not isinstance(instances, list):
                raise MalformedRequestError("'instances' must be a list of JSON objects")
            return instances, False
        return [payload], True
    raise MalformedRequestError(
        'expected a JSON object of features or {"instances": [...]}, got ' + json_type(payload)
    )
