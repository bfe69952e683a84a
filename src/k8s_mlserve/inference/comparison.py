"""How a challenger's answers differ from the champion's: per row, and summed over a comparison.

Per row (``compare_results``): whether the labels agree, and ``|Δp|``, the largest difference
over the classes between the probabilities both models answered (a class one model lacks counts
as 0); for regressors ``|Δ prediction|``. A row whose models do not both answer probabilities (or
numbers, for regressors) has no delta. ``ShadowStats`` sums the rows of one comparison, thread
safe: agreement, mean and max ``|Δp|``, the champion-by-challenger label table, the challenger's
latency, and the rows scored, dropped and failed. ``reset`` starts a new comparison; rows scored
for an older one (its ``generation``) are not counted.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LATENCY_WINDOW = 10_000
"""The latest challenger calls whose latency the percentiles are taken over."""


@dataclass(frozen=True, slots=True)
class RowComparison:
    """One row answered by both models."""

    champion_label: Any
    challenger_label: Any
    abs_delta: float | None

    @property
    def agree(self) -> bool:
        return bool(self.champion_label == self.challenger_label)


def compare_results(
    champion: Sequence[Mapping[str, Any]],
    challenger: Sequence[Mapping[str, Any]],
    *,
    regression: bool = False,
) -> list[RowComparison]:
    """Compare two models' results for the same rows, row by row (see the module docstring)."""
    if len(champion) != len(challenger):
        raise ValueError(
            f"the champion answered {len(champion)} rows and the challenger {len(challenger)}"
        )
    return [
        RowComparison(mine["label"], theirs["label"], _abs_delta(mine, theirs, regression))
        for mine, theirs in zip(champion, challenger, strict=True)
    ]


def _abs_delta(
    champion: Mapping[str, Any], challenger: Mapping[str, Any], regression: bool
) -> float | None:
    if regression:
        first, second = champion["label"], challenger["label"]
        if _is_number(first) and _is_number(second):
            return abs(float(first) - float(second))
        return None
    mine, theirs = champion.get("probabilities"), challenger.get("probabilities")
    if not isinstance(mine, Mapping) or not isinstance(theirs, Mapping):
        return None
    return max(
        (abs(float(mine.get(key, 0.0)) - float(theirs.get(key, 0.0))) for key in {*mine, *theirs}),
        default=0.0,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class LatencySummary:
    """The challenger's seconds per call: mean since the comparison began, percentiles over the
    latest ``LATENCY_WINDOW`` calls; None before the first call."""

    mean: float | None
    p50: float | None
    p99: float | None


@dataclass(frozen=True)
class ComparisonSummary:
    """One comparison so far."""

    rows_scored: int
    rows_dropped: int
    errors: int
    agreement: float | None
    mean_abs_delta: float | None
    max_abs_delta: float | None
    labels: dict[str, dict[str, int]]
    latency: LatencySummary
    since: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ShadowStats:
    """The running sums of one comparison between a champion and a challenger (thread safe)."""

    def __init__(
        self,
        *,
        latency_window: int = LATENCY_WINDOW,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._latencies: deque[float] = deque(maxlen=latency_window)
        self.generation = 0
        self._clear()

    def _clear(self) -> None:
        self._since = self._clock()
        self._scored = 0
        self._dropped = 0
        self._errors = 0
        self._agreements = 0
        self._deltas = 0
        self._delta_sum = 0.0
        self._delta_max: float | None = None
        self._labels: dict[str, dict[str, int]] = {}
        self._calls = 0
        self._seconds = 0.0
        self._latencies.clear()

    def reset(self) -> int:
        """Start a new comparison; returns its generation."""
        with self._lock:
            self.generation += 1
            self._clear()
            return self.generation

    def record(
        self,
        rows: Sequence[RowComparison],
        seconds: float,
        *,
        generation: int,
        label_table: bool = True,
    ) -> bool:
        """Count rows the challenger scored in ``seconds``; False when they belong to an older
        comparison (then nothing is counted)."""
        with self._lock:
            if generation != self.generation:
                return False
            self._scored += len(rows)
            self._calls += 1
            self._seconds += seconds
            self._latencies.append(seconds)
            for row in rows:
                self._agreements += row.agree
                if row.abs_delta is not None:
                    self._deltas += 1
                    self._delta_sum += row.abs_delta
                    if self._delta_max is None or row.abs_delta > self._delta_max:
                        self._delta_max = row.abs_delta
                if label_table:
                    column = self._labels.setdefault(str(row.champion_label), {})
                    key = str(row.challenger_label)
                    column[key] = column.get(key, 0) + 1
            return True

    def dropped(self, rows: int) -> None:
        """Rows of a sampled request the queue had no room for."""
        with self._lock:
            self._dropped += rows

    def failed(self, rows: int, *, generation: int) -> bool:
        """Rows of a request the challenger failed on; False when of an older comparison."""
        with self._lock:
            if generation != self.generation:
                return False
            self._errors += rows
            return True

    def summary(self) -> ComparisonSummary:
        with self._lock:
            scored = self._scored
            return ComparisonSummary(
                rows_scored=scored,
                rows_dropped=self._dropped,
                errors=self._errors,
                agreement=self._agreements / scored if scored else None,
                mean_abs_delta=self._delta_sum / self._deltas if self._deltas else None,
                max_abs_delta=self._delta_max,
                labels={k: dict(v) for k, v in self._labels.items()},
                latency=LatencySummary(
                    mean=self._seconds / self._calls if self._calls else None,
                    p50=_percentile(self._latencies, 0.50),
                    p99=_percentile(self._latencies, 0.99),
                ),
                since=self._since,
            )


def _percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value at least ``share`` of them do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]
