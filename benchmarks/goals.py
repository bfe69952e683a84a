"""k8s-mlserve's performance goals, checked against one benchmark run.

Each goal compares a measurement of ``k8s-mlserve`` with a fixed number, with another server of
the same run (same machine, same cores, same minutes), or with the start/memory reference (a
script that only loads the pickle and answers one row). A goal whose inputs were not measured
(a server or a concurrency level left out, MLServer not installed) is reported as such. The
results are a report, never an assertion: ``run.py`` exits 0 either way.

The shadow-scoring servers (``k8s-mlserve-shadow-*``) are k8s-mlserve with a challenger beside
it, not peers: no goal reads them; ``report.py`` compares them with ``k8s-mlserve`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from servers import BASELINE, CEILING, MLSERVE, MLSERVER

C64_MIN_RPS = 3600.0
C64_MIN_SHARE_OF_CEILING = 0.5
C64_MIN_RATIO_TO_MLSERVER = 3.0
C64_MAX_P99_MS = 20.0
C1_MIN_RATIO_TO_BASELINE = 8.0
MAX_START_RATIO = 1.2
MAX_RSS_RATIO = 1.15


@dataclass(frozen=True)
class Goal:
    """One goal and how this run did against it."""

    goal: str
    """What is wanted, e.g. ``c=64: ≥ 3,600 req/s``."""
    measured: str
    """What this run measured, or what was missing to measure it."""
    met: bool | None
    """None when it could not be measured."""


def check_goals(servers: dict[str, Any], reference: dict[str, float] | None) -> list[Goal]:
    """Every goal, in a fixed order, for the results of ``run.py`` (``servers`` by name)."""
    levels = {
        name: {int(run["concurrency"]): run for run in result["runs"]}
        for name, result in servers.items()
    }

    def run_at(name: str, level: int) -> dict[str, Any] | None:
        return levels.get(name, {}).get(level)

    ours64, ours1 = run_at(MLSERVE, 64), run_at(MLSERVE, 1)
    goals = [
        _own(
            f"c=64: k8s-mlserve ≥ {C64_MIN_RPS:,.0f} req/s",
            ours64,
            lambda ours: (f"{ours['rps']:,.0f} req/s", ours["rps"] >= C64_MIN_RPS),
        ),
        _ratio(
            f"c=64: k8s-mlserve ≥ {C64_MIN_SHARE_OF_CEILING:g}× the ceiling's req/s",
            ours64,
            run_at(CEILING, 64),
            C64_MIN_SHARE_OF_CEILING,
            "ceiling",
        ),
        _ratio(
            f"c=64: k8s-mlserve ≥ {C64_MIN_RATIO_TO_MLSERVER:g}× mlserver's req/s",
            ours64,
            run_at(MLSERVER, 64),
            C64_MIN_RATIO_TO_MLSERVER,
            "mlserver",
        ),
        _own(
            f"c=64: k8s-mlserve p99 ≤ {C64_MAX_P99_MS:g} ms",
            ours64,
            lambda ours: (f"{ours['p99_ms']:.1f} ms", ours["p99_ms"] <= C64_MAX_P99_MS),
        ),
        _ratio(
            f"c=1: k8s-mlserve ≥ {C1_MIN_RATIO_TO_BASELINE:g}× the baseline's req/s",
            ours1,
            run_at(BASELINE, 1),
            C1_MIN_RATIO_TO_BASELINE,
            "baseline",
        ),
    ]
    ours = servers.get(MLSERVE)
    for key, label, unit, limit in (
        ("startup_s", "start to ready", "{:.2f} s", MAX_START_RATIO),
        ("rss_mib", "resident memory after start", "{:.0f} MiB", MAX_RSS_RATIO),
    ):
        goal = f"{label} ≤ {limit:g}× the joblib.load + first predict reference"
        if ours is None or reference is None:
            goals.append(Goal(goal, "needs k8s-mlserve and the reference", None))
            continue
        ratio = ours[key] / reference[key]
        against = f"{unit.format(ours[key])} against {unit.format(reference[key])}"
        measured = f"{ratio:.2f}× ({against})"
        goals.append(Goal(goal, measured, ratio <= limit))
    return goals


def _own(
    goal: str,
    ours: dict[str, Any] | None,
    judge: Callable[[dict[str, Any]], tuple[str, bool]],
) -> Goal:
    """A goal on k8s-mlserve's own run: ``judge`` gives what it measured and whether it is met."""
    if ours is None:
        return Goal(goal, "needs k8s-mlserve at that concurrency", None)
    measured, met = judge(ours)
    return Goal(goal, measured, met)


def _ratio(
    goal: str,
    ours: dict[str, Any] | None,
    theirs: dict[str, Any] | None,
    minimum: float,
    other: str,
) -> Goal:
    if ours is None or theirs is None:
        return Goal(goal, f"needs k8s-mlserve and {other} at that concurrency", None)
    ratio = float(ours["rps"]) / float(theirs["rps"]) if theirs["rps"] else float("inf")
    measured = f"{ratio:.2f}× ({ours['rps']:,.0f} against {theirs['rps']:,.0f} req/s)"
    return Goal(goal, measured, ratio >= minimum)
