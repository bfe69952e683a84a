"""Reading request bodies: size limit, JSON parsing, instance extraction."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import Request

from .errors import BodyTooLarge, MalformedBody, UnprocessableRequest


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")
        except ValueError as exc:
            raise MalformedBody("invalid Content-Length header") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse JSON; NaN and Infinity are accepted here so that validation can name the field."""
    if not raw.strip():
        raise MalformedBody("empty body; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"malformed JSON: {exc}") from exc


def extract_instances(payload: Any, max_instances: int) -> tuple[list[Any], bool]:
    """Rows to predict and whether the request was a single object.

    Accepts one JSON object (one row) or ``{"instances": [row, ...]}``.
    """
    if isinstance(payload, dict):
        if set(payload) == {"instances"}:
            instances = payload["instances"]
            if not isinstance(instances, list):
                raise UnprocessableRequest("'instances' must be a list of JSON objects")
            if not instances:
                raise UnprocessableRequest("'instances' is empty; send at least one row")
            if len(instances) > max_instances:
                raise BodyTooLarge(
                    f"{len(instances)} instances exceed the limit of {max_instances} per request"
                )
            return instances, False
        return [payload], True
    raise MalformedBody(
        'expected a JSON object of features or {"instances": [...]}, got '
        + type(payload).__name__.replace("list", "array").replace("dict", "object")
    )
