"""A closed-loop HTTP/1.1 load generator: N connections, each sends a request as soon as the
previous answer arrived.

It speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies) to drive a JSON API with
little client-side cost, so that the server, not the generator, is what gets measured. Every
server of the benchmark is driven by this same program; each gets the same rows in the body format
its API takes (k8s-mlserve's JSON objects, or V2 inference requests for MLServer).

Usage::

    python benchmarks/loadgen.py --url http://127.0.0.1:8000/predict --bodies bodies.json \\
        --concurrency 32 --duration 10 --warmup 2

``bodies.json`` is a JSON list of request bodies (any JSON values), each POSTed in turn, compactly
encoded, to the URL's path. The result is one JSON object on stdout: requests, errors, requests
per second and latency percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Tally:
    """What the connections observed during the measured window."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def build_requests(host: str, port: int, path: str, bodies: list[bytes]) -> list[bytes]:
    """Complete request messages, built once so the loop only writes bytes."""
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    return [(head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body for body in bodies]


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    else:
        raise RuntimeError("response without Content-Length; only fixed-length bodies are read")
    if length:
        await reader.readexactly(length)
    return status


async def connection(
    host: str,
    port: int,
    requests: list[bytes],
    offset: int,
    start: float,
    stop: float,
    tally: Tally,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = offset
    try:
        while True:
            sent = time.perf_counter()
            if sent >= stop:
                return
            writer.write(requests[index % len(requests)])
            index += 1
            status = await read_response(reader)
            done = time.perf_counter()
            if sent >= start:
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
                if status == 200:
                    tally.latencies.append(done - sent)
                else:
                    tally.errors += 1
    finally:
        writer.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) by the nearest-rank method."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(q * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


async def run(
    url: str, bodies: list[bytes], concurrency: int, duration: float, warmup: float
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = build_requests(host, port, parts.path or "/", bodies)
    tally = Tally()
    begin = time.perf_counter()
    start, stop = begin + warmup, begin + warmup + duration
    step = max(1, len(requests) // max(concurrency, 1))
    await asyncio.gather(
        *(
            connection(host, port, requests, i * step, start, stop, tally)
            for i in range(concurrency)
        )
    )
    latencies = sorted(tally.latencies)
    ms = [v * 1000.0 for v in latencies]
    return {
        "concurrency": concurrency,
        "duration_s": duration,
        "requests": len(latencies),
        "errors": tally.errors,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "rps": len(latencies) / duration,
        "p50_ms": percentile(ms, 0.50),
        "p90_ms": percentile(ms, 0.90),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": ms[-1] if ms else float("nan"),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", type=Path, required=True, help="JSON list of request bodies")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    args = parser.parse_args(argv)
    payloads = json.loads(args.bodies.read_text())
    bodies = [json.dumps(p, separators=(",", ":")).encode() for p in payloads]
    result = asyncio.run(run(args.url, bodies, args.concurrency, args.duration, args.warmup))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
