"""Reading request bodies: size limit, JSON parsing, instance extraction."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from ..errors import MalformedRequestError, RequestTimeoutError, RequestTooLargeError
from ..model.schema import json_type
from .connections import BODY_COMPLETE


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The raw body, refusing more than ``limit`` bytes without reading it all, and a body that
    has not fully arrived ``timeout`` seconds after the handler asked for it (408)."""
    if request.scope.get(BODY_COMPLETE):  # already received in full: nothing to wait for
        return await _read(request, limit)
    try:
        async with asyncio.timeout(timeout):
            return await _read(request, limit)
    except TimeoutError:
        raise RequestTimeoutError(
            f"the body did not arrive within {timeout:g} seconds (MLSERVE_SERVER__BODY_TIMEOUT)"
        ) from None


async def _read(request: Request, limit: int) -> bytes:
    declared = next((v for k, v in request.scope["headers"] if k == b"content-length"), None)
    if declared is not None:
        try:
            length = int(declared)
        except ValueError as exc:
            raise MalformedRequestError("invalid Content-Length header") from exc
        if length > limit:
            raise RequestTooLargeError(f"body of {length} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:  # the ASGI messages themselves: Request.stream() adds a generator per request
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLargeError(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


MAX_JSON_DEPTH = 64
"""Arrays and objects nested deeper than this are refused (400) before anything walks them."""
MAX_NON_FINITE = 32
"""NaN/Infinity constants read in one body; each costs a parse, so more are refused (400)."""

_CONSTANTS = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}
# "\u0000mlserve:nan" and the like stand for the constants while orjson parses the body.
_SENTINEL = "\x00mlserve:"


def parse_json(raw: bytes) -> Any:
    """Parse JSON with orjson, the one parser, within the depth and number limits.

    NaN, Infinity and -Infinity (not JSON) are read as floats so that validation can name the
    field holding one: where orjson stops at one, it is swapped for a sentinel string and the body
    parsed again (at most ``MAX_NON_FINITE`` times); the walk that checks the depth swaps the
    sentinels back.
    """
    if not raw.strip():
        raise MalformedRequestError("empty body; send a JSON object")
    text: bytes | str = raw
    replaced = 0
    while True:
        try:
            payload = orjson.loads(text)
            break
        except orjson.JSONDecodeError as exc:
            found = _constant_at(exc.doc, exc.pos)
            if found is None:
                raise _malformed(exc) from None
            if replaced == MAX_NON_FINITE:
                raise MalformedRequestError(
                    f"more than {MAX_NON_FINITE} NaN or Infinity constants; they are not JSON "
                    "numbers: send null or a finite number"
                ) from None
            start, token = found
            sentinel = '"\\u0000mlserve:' + _CONSTANTS[token] + '"'
            text = exc.doc[:start] + sentinel + exc.doc[start + len(token) :]
            replaced += 1
    if not replaced and raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return payload  # too few brackets to nest too deep: skip the walk
    return _checked(payload, replaced=bool(replaced))


def _constant_at(doc: object, pos: int) -> tuple[int, str] | None:
    """Where a NaN/Infinity constant orjson stopped at begins, and which one it is."""
    if not isinstance(doc, str):
        return None
    if doc.startswith("NaN", pos):
        return pos, "NaN"
    if doc.startswith("Infinity", pos):
        if pos > 0 and doc[pos - 1] == "-":
            return pos - 1, "-Infinity"
        return pos, "Infinity"
    return None


def _malformed(exc: orjson.JSONDecodeError) -> MalformedRequestError:
    if exc.msg.startswith("depth limit exceeded"):
        return _too_deep()
    if exc.msg.startswith("number is infinity"):
        return MalformedRequestError(
            f"malformed JSON: the number at char {exc.pos} is too large; numbers must fit in a "
            "64-bit float (below 1.8e308)"
        )
    return MalformedRequestError(f"malformed JSON: {exc}")


def _too_deep() -> MalformedRequestError:
    return MalformedRequestError(
        f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels of arrays and objects"
    )


def _checked(payload: Any, *, replaced: bool) -> Any:
    """The payload, once deep nesting is refused and sentinels are floats again."""
    if not isinstance(payload, (dict, list)):
        return _restore(payload) if replaced else payload
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(payload, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
            elif replaced and isinstance(value, str) and value.startswith(_SENTINEL):
                container[key] = _restore(value)  # type: ignore[index]
    return payload


def _restore(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_SENTINEL):
        return float(value[len(_SENTINEL) :])
    return value


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


def list_found(payload: Any, key: str) -> str:
    """What a body has instead of an object with a list under ``key``, for an error message."""
    if not isinstance(payload, dict):
        return json_type(payload)
    if key not in payload:
        return f"an object without {key!r}"
    return f"{key!r} of type {json_type(payload[key])}"
