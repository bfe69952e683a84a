"""How steadily the servers' core runs: the same small piece of work, timed over and over.

On a virtual machine the host may slow a core down for a while (another tenant, a CPU quota),
which no load average or steal counter in the guest shows. Such a spell lengthens every step of a
server at once, and a latency tail measured then is the machine's, not the server's. This probe,
run pinned where the servers run, times fixed chunks of pure-Python work for a few seconds and
reports the median chunk time and the 100 ms windows whose chunks took at least ``SLOW`` times the
median on average.

Usage::

    taskset -c 1 python benchmarks/steadiness.py --seconds 4

The result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict

WINDOW_S = 0.1
"""The windows the chunk times are averaged over."""
SLOW = 1.5
"""A window at least this many times the median chunk time is a slow spell."""


def _chunk() -> int:
    """About 0.2 ms of interpreter work: dictionary and string building, as a server does."""
    total = 0
    for _ in range(5):
        table = {i: str(i) for i in range(300)}
        total += len(table)
    return total


def measure(seconds: float) -> dict[str, float]:
    """Time chunks for ``seconds``; the median chunk and the slow windows' share and worst."""
    start = time.perf_counter()
    end = start + seconds
    windows: dict[int, list[float]] = defaultdict(list)
    while True:
        before = time.perf_counter()
        _chunk()
        after = time.perf_counter()
        windows[int((before - start) / WINDOW_S)].append(after - before)
        if after >= end:
            break
    median = statistics.median(t for times in windows.values() for t in times)
    ratios = [statistics.fmean(times) / median for times in windows.values()]
    return {
        "seconds": seconds,
        "median_chunk_ms": median * 1000,
        "slow_window_share": sum(r >= SLOW for r in ratios) / len(ratios),
        "worst_window_ratio": max(ratios),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    json.dump(measure(args.seconds), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
