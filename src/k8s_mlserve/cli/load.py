"""``k8s-mlserve load``: run the packaged locust users headless against a running server.

Locust runs as a child process (``python -m locust -f k8s_mlserve/testing/locustfile.py``), because
importing it monkey-patches the whole process with gevent; the API key reaches the child through
its environment, never its command line. Before locust starts, the server's ``/ready`` must answer
200. Exit codes: locust's own (0: every request succeeded, 1: some failed), 2 for a bad argument,
a missing ``load`` extra or a server that is unreachable or not ready.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError

if TYPE_CHECKING:  # httpx comes with the run, not with the parser
    import httpx

LOCUSTFILE = Path(__file__).resolve().parent.parent / "testing" / "locustfile.py"
EXIT_ERROR = 2
# What locust's --run-time takes: plain seconds, or hours, minutes and seconds such as 1h30m.
_TIMESPAN = re.compile(r"\d+|(?=\d)(\d+h)?(\d+m)?(\d+s)?")
# Variables the locustfile reads that this command sets (or deliberately leaves unset).
_CHILD_VARIABLES = ("LOCUST_API_KEY", "LOCUST_BUNDLE")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="load a running server with locust users sending valid rows to /predict",
        description=(
            "Run locust headless against a running server: users send single rows and batches of "
            "valid rows to POST /predict, sampled from the server's /openapi.json (or --bundle). "
            "Exit code 0: no request failed, 1: some failed, 2: error. Needs the load extra."
        ),
    )
    parser.add_argument("url", metavar="URL", help="the server's base URL, e.g. http://host:8000")
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        default=os.environ.get("MLSERVE_API_KEY"),
        help="sent as X-API-Key (default: $MLSERVE_API_KEY)",
    )
    parser.add_argument(
        "--users",
        "-u",
        type=_positive_int,
        default=10,
        metavar="N",
        help="concurrent users (default: 10)",
    )
    parser.add_argument(
        "--spawn-rate",
        "-r",
        type=_positive_float,
        metavar="N",
        default=10.0,
        help="users started per second (default: 10)",
    )
    parser.add_argument(
        "--run-time",
        "-t",
        type=_timespan,
        default="30s",
        metavar="SPAN",
        help="how long to run, e.g. 20, 45s, 3m, 1h30m (default: 30s)",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="PREFIX",
        help="keep locust's CSV files: PREFIX_stats.csv, PREFIX_failures.csv, ... (default: none)",
    )
    parser.add_argument(
        "--html", type=Path, metavar="PATH", help="write locust's HTML report (default: none)"
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        metavar="DIR",
        help="read the input schema from this bundle or registry directory "
        "(default: the server's /openapi.json)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=16,
        metavar="N",
        help="rows per batch request (default: 16)",
    )
    parser.add_argument(
        "--single-weight",
        type=_non_negative_int,
        metavar="N",
        default=3,
        help="how often a single-row request is picked, relative to --batch-weight (default: 3)",
    )
    parser.add_argument(
        "--batch-weight",
        type=_non_negative_int,
        metavar="N",
        default=1,
        help="how often a batch request is picked; 0: single rows only (default: 1)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        default=10.0,
        help="seconds to wait for the server's /ready before starting (default: 10)",
    )
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class LoadSummary:
    """The totals of a run, as in locust's ``Aggregated`` row; times in milliseconds."""

    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def render(self) -> str:
        """One line, worded as ``LoadStats.summary`` words it."""
        return (
            f"{self.requests} requests, {self.failures} failures, {self.rps:.1f} req/s, "
            f"p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, p99 {self.p99_ms:.0f} ms"
        )


def run(args: argparse.Namespace) -> int:
    _check_arguments(args)
    if importlib.util.find_spec("locust") is None:
        # The CLI turns this into a message naming the extra that installs locust.
        raise ModuleNotFoundError("No module named 'locust'", name="locust")
    url = args.url.rstrip("/")
    problem = server_problem(url, timeout=args.timeout)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    with tempfile.TemporaryDirectory(prefix="mlserve-load-") as tmp:
        totals = Path(tmp) / "totals.json"
        code = _run_locust(locust_command(url, args, totals), child_environment(args.api_key))
        summary = read_summary(totals)
    if summary is None or summary.requests == 0:
        print(f"error: locust made no request (exit code {code})", file=sys.stderr)
        return code or 1
    print(summary.render())
    return code


def server_problem(
    url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
) -> str | None:
    """Why ``url`` is not a k8s-mlserve server ready to be loaded, or None when it is."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.get(f"{url}/ready")
    except httpx.HTTPError as exc:
        return f"cannot reach {url}: {exc or type(exc).__name__}"
    if response.status_code == 200:
        return None
    if response.status_code == 503:
        try:
            reason = response.json().get("reason", response.text)
        except (ValueError, AttributeError):
            reason = response.text
        return f"{url} is not ready: {reason}"
    return (
        f"{url} does not answer like a k8s-mlserve server: "
        f"GET /ready gave {response.status_code}, expected 200"
    )


def locust_command(url: str, args: argparse.Namespace, totals: Path) -> list[str]:
    """The child's command line: locust headless with the packaged users (no API key in it),
    writing the run's totals to ``totals`` when it quits."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        url,
        "--users",
        str(args.users),
        "--spawn-rate",
        f"{args.spawn_rate:g}",
        "--run-time",
        args.run_time,
        "--summary-file",
        str(totals),
        "--batch-size",
        str(args.batch_size),
        "--single-weight",
        str(args.single_weight),
        "--batch-weight",
        str(args.batch_weight),
    ]
    if args.csv:
        command += ["--csv", str(args.csv)]
    if args.html:
        command += ["--html", str(args.html)]
    if args.bundle:
        command += ["--bundle", str(args.bundle)]
    return command


def child_environment(api_key: str | None) -> dict[str, str]:
    """This process's environment with the key (if any) where the locustfile reads it."""
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_VARIABLES}
    if api_key:
        env["LOCUST_API_KEY"] = api_key
    return env


def read_summary(path: Path) -> LoadSummary | None:
    """The totals the locustfile wrote at the end of the run; None when it wrote none."""
    try:
        totals = json.loads(path.read_text())
        return LoadSummary(
            requests=int(totals["requests"]),
            failures=int(totals["failures"]),
            rps=float(totals["rps"]),
            p50_ms=float(totals["p50_ms"]),
            p95_ms=float(totals["p95_ms"]),
            p99_ms=float(totals["p99_ms"]),
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _run_locust(command: list[str], env: dict[str, str]) -> int:
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached locust too: it stops its users and writes the totals; wait for them.
        return process.wait()


def _check_arguments(args: argparse.Namespace) -> None:
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"URL must be an http(s) base URL such as http://127.0.0.1:8000, got {args.url!r}"
        )
    if args.single_weight + args.batch_weight == 0:
        raise ConfigurationError("--single-weight and --batch-weight must not both be 0")
    if args.bundle is not None and not args.bundle.is_dir():
        raise ConfigurationError(f"--bundle {args.bundle} is not a directory")


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _timespan(text: str) -> str:
    if not _TIMESPAN.fullmatch(text) or not any(c != "0" for c in text if c.isdigit()):
        raise argparse.ArgumentTypeError(
            f"expected seconds or a span such as 45s, 3m or 1h30m, got {text!r}"
        )
    return text
