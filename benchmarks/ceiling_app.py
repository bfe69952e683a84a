"""The most a Python server could answer on the benchmark's core: the benchmark's ceiling.

A bare Starlette app, run by uvicorn with one worker like the others, that reads each request's
JSON body with orjson and answers one constant JSON object: everything a model server must do per
request (HTTP, routing, parsing) except running a model and encoding its answer.

Run it with::

    uvicorn ceiling_app:app --app-dir benchmarks
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = orjson.dumps({"label": 0, "probability": 0.5})


async def predict(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(ANSWER, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health)])
