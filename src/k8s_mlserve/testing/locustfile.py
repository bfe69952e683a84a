"""A locustfile for any k8s-mlserve server: single-row and batch ``POST /predict`` with valid rows.

Importing this module imports locust, which monkey-patches the process with gevent: import it only
in a process that runs locust (the ``locust`` command, or ``k8s_mlserve.testing.load``'s child).

Run it headless against any URL::

    locust -f loadtests/locustfile.py --headless -H http://127.0.0.1:8000 --api-key KEY \\
        -u 20 -r 10 -t 30s

Rows are sampled from the model's input schema: from ``--bundle`` (a bundle or registry directory)
when given, otherwise from the server's ``/openapi.json``. Absolute imports only: locust loads this
file by path.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

import gevent  # type: ignore[import-untyped]
import httpx
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from k8s_mlserve.testing.payloads import PayloadFactory, schema_from_bundle, schema_from_openapi

SINGLE_NAME = "/predict [single]"
BATCH_NAME = "/predict [batch]"


def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("k8s-mlserve")
    group.add_argument(
        "--api-key", env_var="LOCUST_API_KEY", default="", help="sent as X-API-Key (if set)"
    )
    group.add_argument(
        "--bundle",
        env_var="LOCUST_BUNDLE",
        default="",
        help="bundle or registry directory to read the input schema from "
        "(default: the server's /openapi.json)",
    )
    group.add_argument(
        "--batch-size", env_var="LOCUST_BATCH_SIZE", type=int, default=16, help="rows per batch"
    )
    group.add_argument(
        "--single-weight",
        env_var="LOCUST_SINGLE_WEIGHT",
        type=int,
        default=3,
        help="how often a single-row request is picked, relative to --batch-weight",
    )
    group.add_argument(
        "--batch-weight",
        env_var="LOCUST_BATCH_WEIGHT",
        type=int,
        default=1,
        help="how often a batch request is picked (0: never)",
    )
    group.add_argument(
        "--summary-file",
        env_var="LOCUST_SUMMARY_FILE",
        default="",
        help="write the run's totals (requests, failures, req/s, percentiles) here as JSON",
    )


def _configure_from_options(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not hasattr(options, "batch_size"):
        return  # library use: the runner configured the user class itself
    configure(
        PredictUser,
        api_key=options.api_key or None,
        bundle=options.bundle or None,
        batch_size=options.batch_size,
        single_weight=options.single_weight,
        batch_weight=options.batch_weight,
    )
    if options.summary_file:

        def write_summary(**_: Any) -> None:
            write_totals(environment, options.summary_file)

        environment.events.quit.add_listener(write_summary)  # type: ignore[no-untyped-call]
    # The event loop's clock is cached and lags by the time imports took since it was last
    # updated: --run-time, set next from that clock, would end the run that much early.
    gevent.get_hub().loop.update_now()


events.init_command_line_parser.add_listener(_add_arguments)  # type: ignore[no-untyped-call]
events.init.add_listener(_configure_from_options)  # type: ignore[no-untyped-call]


class PredictUser(FastHttpUser):
    """Sends valid rows to ``POST /predict``, one at a time or in batches, as fast as answered."""

    wait_time = constant(0)
    api_key: ClassVar[str | None] = None
    batch_size: ClassVar[int] = 16
    payloads: ClassVar[PayloadFactory | None] = None

    def on_start(self) -> None:
        cls = type(self)
        if cls.payloads is None:
            cls.payloads = PayloadFactory(self._schema_from_server())

    def _schema_from_server(self) -> Any:
        headers = self._headers()
        response = httpx.get(f"{self.host}/openapi.json", headers=headers, timeout=30.0)
        response.raise_for_status()
        return schema_from_openapi(response.json())

    def _headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def _factory(self) -> PayloadFactory:
        assert self.payloads is not None, "on_start sets the payload factory"
        return self.payloads

    @task
    def predict_single(self) -> None:
        body = self._factory().single()
        with self.client.post(
            "/predict", json=body, headers=self._headers(), name=SINGLE_NAME, catch_response=True
        ) as response:
            problem = _problem(response.status_code, response.text, expected_rows=None)
            if problem:
                response.failure(problem)

    @task
    def predict_batch(self) -> None:
        size = self.batch_size
        body = self._factory().batch(size)
        with self.client.post(
            "/predict", json=body, headers=self._headers(), name=BATCH_NAME, catch_response=True
        ) as response:
            problem = _problem(response.status_code, response.text, expected_rows=size)
            if problem:
                response.failure(problem)


def _problem(status: int, text: str | None, *, expected_rows: int | None) -> str | None:
    """What is wrong with a predict response, or None when it is a valid answer."""
    shown = (text or "")[:200]
    if status != 200:
        return f"status {status}: {shown}"
    try:
        body = json.loads(text or "")
    except ValueError:
        return f"not JSON: {shown}"
    if expected_rows is None:
        return None if isinstance(body, dict) and "label" in body else f"no label in {shown}"
    predictions = body.get("predictions") if isinstance(body, dict) else None
    if not isinstance(predictions, list) or len(predictions) != expected_rows:
        return f"expected {expected_rows} predictions, got {shown}"
    return None


def write_totals(environment: Environment, path: str | os.PathLike[str]) -> None:
    """Write the totals of locust's ``Aggregated`` row to ``path`` as JSON; times in ms."""
    total = environment.stats.total
    totals = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.total_rps,
        "p50_ms": float(total.get_response_time_percentile(0.5) or 0),
        "p95_ms": float(total.get_response_time_percentile(0.95) or 0),
        "p99_ms": float(total.get_response_time_percentile(0.99) or 0),
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(totals, file)


def configure(
    user: type[PredictUser],
    *,
    api_key: str | None = None,
    bundle: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    single_weight: int = 3,
    batch_weight: int = 1,
) -> type[PredictUser]:
    """Set the key, the schema source, the batch size and the task mix on ``user``."""
    if batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {batch_size}")
    if single_weight < 0 or batch_weight < 0 or single_weight + batch_weight == 0:
        raise ValueError("task weights must not be negative, and at least one must be positive")
    user.api_key = api_key
    user.batch_size = batch_size
    user.payloads = PayloadFactory(schema_from_bundle(bundle)) if bundle else None
    # Locust picks the next task uniformly from this list: repetition is the weight.
    mix: list[Any] = [PredictUser.predict_single] * single_weight
    user.tasks = mix + [PredictUser.predict_batch] * batch_weight
    return user


def configured_user(**settings: Any) -> type[PredictUser]:
    """A fresh subclass of ``PredictUser`` configured with ``settings`` (see ``configure``)."""
    user = type("ConfiguredPredictUser", (PredictUser,), {"abstract": False})
    return configure(user, **settings)
