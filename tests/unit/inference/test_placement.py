"""Which model calls run on the event loop: timed for a compiled model, never for scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from k8s_mlserve.inference.placement import INLINE_BUDGET_S, TIMED_CALLS, choose_placement
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.model.bundle import load_bundle, write_bundle


@dataclass
class _Runtime:
    name: str


@dataclass
class _Schema:
    def example_row(self) -> dict[str, Any]:
        return {"x": 1.0}


@dataclass
class FakePredictor:
    """A predictor whose calls are seen, timed by a scripted clock."""

    runtime_name: str = "onnx"
    calls: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.runtime = _Runtime(self.runtime_name)
        self.schema = _Schema()

    def predict(self, rows: Sequence[Any]) -> list[int]:
        self.calls.append(len(rows))
        return [0] * len(rows)


def clock(*costs: float) -> Any:
    """A timer whose successive start/stop pairs are ``costs`` seconds apart."""
    ticks = count()
    readings: list[float] = []
    now = 0.0
    for cost in costs:
        readings += [now, now + cost]
        now += cost + 1.0
    return lambda: readings[next(ticks)]


def test_a_fast_compiled_model_is_called_on_the_loop_up_to_a_full_batch() -> None:
    predictor = FakePredictor()
    placement = choose_placement(predictor, None, 64, clock(0.0009, 0.0004, 0.0006))
    assert placement.inline_rows == 64
    assert predictor.calls == [64] * TIMED_CALLS  # full batches of the example row
    assert "0.40 ms" in placement.reason  # the fastest call is the estimate


def test_a_slower_model_is_called_on_the_loop_only_for_rows_that_fit_the_budget() -> None:
    cost = 4 * INLINE_BUDGET_S  # a full batch of 64 takes four budgets: 16 rows fit in one
    placement = choose_placement(FakePredictor(), None, 64, clock(cost, cost, cost))
    assert placement.inline_rows == 16


def test_a_model_over_the_budget_for_one_row_always_runs_on_the_thread() -> None:
    placement = choose_placement(FakePredictor(), None, 8, clock(0.05, 0.05, 0.05))
    assert placement.inline_rows == 0
    assert "over the 1 ms budget" in placement.reason


def test_the_setting_is_taken_as_given_without_timing() -> None:
    predictor = FakePredictor()
    assert choose_placement(predictor, 0, 64).inline_rows == 0
    assert choose_placement(predictor, 5, 64).inline_rows == 5
    assert predictor.calls == []


@pytest.mark.parametrize("setting", [None, 64])
def test_scikit_learn_always_runs_on_the_thread(setting: int | None) -> None:
    predictor = FakePredictor(runtime_name="sklearn")
    placement = choose_placement(predictor, setting, 64)
    assert placement.inline_rows == 0
    assert "sklearn runtime" in placement.reason
    assert predictor.calls == []


def test_a_real_compiled_model_is_timed_on_full_batches(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"a": [float(i) for i in range(40)], "b": [float(i % 7) for i in range(40)]}
    )
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        frame, [i >= 20 for i in range(40)]
    )
    predictor = Predictor(
        load_bundle(write_bundle(tmp_path / "b", model, frame, name="m", version="1"))
    )
    assert predictor.runtime.name == "onnx"
    placement = choose_placement(predictor, None, 32)
    assert 0 <= placement.inline_rows <= 32
    assert "a call of 32 rows took" in placement.reason
