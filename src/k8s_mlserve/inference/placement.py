"""Where a model's calls run: on the event loop, or on the worker thread.

A compiled model answers a full batch in well under a millisecond; the hop to the worker thread
and back costs more than that, and on a server given one core the two threads then take turns on
it (the event loop's thread waited for the CPU about an eighth of the time under load). Such a
model is better called on the event loop. A model whose calls take longer would hold up every
other request meanwhile, and scikit-learn models always run on the thread.

Unless ``batching.inline_rows`` says otherwise, the choice is made once per loaded model: a call
of ``max_batch_size`` copies of the schema's example row is timed (best of a few), and calls of up
to as many rows as fit in ``INLINE_BUDGET_S`` at that rate run on the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

INLINE_BUDGET_S = 0.001
"""The longest a model call may be expected to hold the event loop."""
TIMED_CALLS = 3
"""Calls timed to estimate the cost of a full batch (the fastest is kept)."""


class _Runtime(Protocol):
    @property
    def name(self) -> str: ...


class _Schema(Protocol):
    def example_row(self) -> Any: ...


class TimedPredictor(Protocol):
    """What the choice needs of a predictor."""

    @property
    def runtime(self) -> _Runtime: ...

    @property
    def schema(self) -> _Schema: ...

    def predict(self, rows: Sequence[Any]) -> Any: ...


@dataclass(frozen=True)
class Placement:
    """Calls of at most ``inline_rows`` rows run on the event loop; why, in ``reason``."""

    inline_rows: int
    reason: str


def choose_placement(
    predictor: TimedPredictor,
    setting: int | None,
    max_batch_size: int,
    timer: Callable[[], float] = time.perf_counter,
) -> Placement:
    """Decide how many rows a call may have and still run on the event loop.

    ``setting`` is ``batching.inline_rows``: a number is taken as given (0: always the thread),
    ``None`` times the model. Only a compiled model (``onnx`` runtime) is ever called on the
    loop. Blocks for the few timed calls: run it where the model is loaded, off the loop.
    """
    if predictor.runtime.name != "onnx":
        return Placement(0, f"the {predictor.runtime.name} runtime always runs on the thread")
    if setting is not None:
        return Placement(setting, "set by batching.inline_rows")
    batch = [predictor.schema.example_row()] * max_batch_size
    cost = float("inf")
    for _ in range(TIMED_CALLS):
        start = timer()
        predictor.predict(batch)
        cost = min(cost, timer() - start)
    rows = max_batch_size if cost <= 0 else int(max_batch_size * INLINE_BUDGET_S / cost)
    rows = min(rows, max_batch_size)
    measured = f"a call of {max_batch_size} rows took {cost * 1000:.2f} ms"
    if rows == 0:
        return Placement(0, f"{measured}, over the {INLINE_BUDGET_S * 1000:g} ms budget")
    return Placement(rows, f"{measured} (budget {INLINE_BUDGET_S * 1000:g} ms)")
