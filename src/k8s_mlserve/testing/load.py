"""Run a locust load test from Python and get its numbers back as a ``LoadStats``.

``run_load`` starts a child Python process that runs locust as a library (an ``Environment`` with
a ``LocalRunner``, stopped by a gevent timer after ``duration`` seconds) with the ``PredictUser``
of ``k8s_mlserve.testing.locustfile``, and reads the stats it writes as JSON. The child exists
because locust monkey-patches the whole process with gevent on import, which must not happen
inside a test session. ``run_load_in_process`` is the same run without the child, for scripts
that are locust processes already.

The child is also a command::

    python -c "import locust; from k8s_mlserve.testing.load import main; main()" \\
        --url http://127.0.0.1:8000 --users 10 --spawn-rate 10 --duration 30
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

API_KEY_ENV = "K8S_MLSERVE_LOAD_API_KEY"
# locust must be imported before anything else in the child, so that its monkey-patching comes
# first (gevent warns, and ssl misbehaves, when ssl was imported before the patch).
_CHILD = "import locust\nfrom k8s_mlserve.testing.load import main\nraise SystemExit(main())\n"


class LoadTestError(RuntimeError):
    """The load-test process failed before it could report stats."""


@dataclass(frozen=True)
class EndpointStats:
    """Numbers for one request name (``/predict [single]``, ``/predict [batch]``)."""

    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    max_ms: float


@dataclass(frozen=True)
class LoadStats:
    """What a load test measured; times in milliseconds, ``rps`` over the whole run."""

    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    max_ms: float
    duration_s: float
    users: int
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadStats:
        endpoints = {k: EndpointStats(**v) for k, v in data.get("endpoints", {}).items()}
        return cls(**{**data, "endpoints": endpoints})

    def summary(self) -> str:
        """One line for logs and assertion messages."""
        text = (
            f"{self.requests} requests, {self.failures} failures, {self.rps:.1f} req/s, "
            f"p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, p99 {self.p99_ms:.0f} ms "
            f"({self.users} users, {self.duration_s:.1f} s)"
        )
        return text + (f"; errors: {'; '.join(self.errors[:3])}" if self.errors else "")


def run_load(
    url: str,
    *,
    users: int = 10,
    spawn_rate: float = 10.0,
    duration: float = 10.0,
    api_key: str | None = None,
    bundle: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    single_weight: int = 3,
    batch_weight: int = 1,
    timeout: float | None = None,
) -> LoadStats:
    """Load ``url`` with ``users`` concurrent locust users for ``duration`` seconds.

    ``bundle`` is where the input schema is read from; without it the child asks the server's
    ``/openapi.json``. The API key travels in the child's environment, not its command line.
    """
    _check_numbers(users, spawn_rate, duration)
    with tempfile.TemporaryDirectory(prefix="mlserve-load-") as tmp:
        output = Path(tmp) / "stats.json"
        command = [
            sys.executable,
            "-c",
            _CHILD,
            *_arguments(
                url,
                users=users,
                spawn_rate=spawn_rate,
                duration=duration,
                bundle=bundle,
                batch_size=batch_size,
                single_weight=single_weight,
                batch_weight=batch_weight,
            ),
            "--output",
            str(output),
        ]
        env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
        if api_key:
            env[API_KEY_ENV] = api_key
        limit = timeout if timeout is not None else duration + users / spawn_rate + 120
        try:
            result = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=limit, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise LoadTestError(f"the load test did not finish within {limit:.0f}s") from exc
        if result.returncode != 0 or not output.is_file():
            raise LoadTestError(
                f"the load test exited with {result.returncode}:\n{result.stderr[-4000:]}"
            )
        return LoadStats.from_dict(json.loads(output.read_text()))


def run_load_in_process(
    url: str,
    *,
    users: int = 10,
    spawn_rate: float = 10.0,
    duration: float = 10.0,
    api_key: str | None = None,
    bundle: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    single_weight: int = 3,
    batch_weight: int = 1,
) -> LoadStats:
    """``run_load`` in this process: imports locust, which monkey-patches it with gevent."""
    _check_numbers(users, spawn_rate, duration)
    import gevent  # type: ignore[import-untyped]
    from locust.env import Environment

    from .locustfile import configured_user

    user = configured_user(
        api_key=api_key,
        bundle=bundle,
        batch_size=batch_size,
        single_weight=single_weight,
        batch_weight=batch_weight,
    )
    environment = Environment(user_classes=[user], host=url.rstrip("/"), catch_exceptions=True)
    runner = environment.create_local_runner()
    # The event loop's clock is cached: after a slow import it lags, and a timer set now would
    # fire that much early.
    gevent.get_hub().loop.update_now()
    started = time.monotonic()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.spawn_later(duration, runner.quit)
    runner.greenlet.join()
    elapsed = time.monotonic() - started
    return _collect(environment, runner, users=users, elapsed=elapsed)


def _collect(environment: Any, runner: Any, *, users: int, elapsed: float) -> LoadStats:
    total = environment.stats.total
    endpoints = {
        entry.name: EndpointStats(
            requests=entry.num_requests,
            failures=entry.num_failures,
            p50_ms=float(entry.get_response_time_percentile(0.5) or 0),
            p95_ms=float(entry.get_response_time_percentile(0.95) or 0),
            p99_ms=float(entry.get_response_time_percentile(0.99) or 0),
            avg_ms=float(entry.avg_response_time),
            max_ms=float(entry.max_response_time or 0),
        )
        for entry in environment.stats.entries.values()
    }
    errors = [
        f"{e.occurrences}x {e.method} {e.name}: {e.error}"
        for e in environment.stats.errors.values()
    ]
    errors += [f"{e['count']}x exception: {e['msg']}" for e in runner.exceptions.values()]
    return LoadStats(
        requests=total.num_requests,
        failures=total.num_failures,
        rps=total.num_requests / elapsed if elapsed > 0 else 0.0,
        p50_ms=float(total.get_response_time_percentile(0.5) or 0),
        p95_ms=float(total.get_response_time_percentile(0.95) or 0),
        p99_ms=float(total.get_response_time_percentile(0.99) or 0),
        avg_ms=float(total.avg_response_time),
        max_ms=float(total.max_response_time or 0),
        duration_s=round(elapsed, 3),
        users=users,
        endpoints=endpoints,
        errors=errors,
    )


def _check_numbers(users: int, spawn_rate: float, duration: float) -> None:
    if users < 1:
        raise ValueError(f"users must be at least 1, got {users}")
    if spawn_rate <= 0:
        raise ValueError(f"spawn_rate must be positive, got {spawn_rate}")
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")


def _arguments(
    url: str,
    *,
    users: int,
    spawn_rate: float,
    duration: float,
    bundle: str | os.PathLike[str] | None,
    batch_size: int,
    single_weight: int,
    batch_weight: int,
) -> list[str]:
    args = [
        "--url",
        url,
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--duration",
        str(duration),
        "--batch-size",
        str(batch_size),
        "--single-weight",
        str(single_weight),
        "--batch-weight",
        str(batch_weight),
    ]
    return [*args, "--bundle", os.fspath(bundle)] if bundle else args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8s_mlserve.testing.load",
        description="Run the k8s-mlserve locust users against a server and print the stats as "
        "JSON.",
    )
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument(
        "--api-key", default=os.environ.get(API_KEY_ENV), help=f"default: ${API_KEY_ENV}"
    )
    parser.add_argument("--bundle", help="read the input schema from this bundle or registry")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--single-weight", type=int, default=3)
    parser.add_argument("--batch-weight", type=int, default=1)
    parser.add_argument("--output", help="write the JSON here instead of to stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The child's entry point: run in process, write the stats as JSON."""
    args = _parser().parse_args(argv)
    stats = run_load_in_process(
        args.url,
        users=args.users,
        spawn_rate=args.spawn_rate,
        duration=args.duration,
        api_key=args.api_key,
        bundle=args.bundle,
        batch_size=args.batch_size,
        single_weight=args.single_weight,
        batch_weight=args.batch_weight,
    )
    text = json.dumps(stats.to_dict(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0
