"""The per-feature histograms ``/drift?histograms=true`` returns and the HTML report draws."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.drift.histograms import (
    MAX_LEVELS,
    OTHER_LEVEL,
    categorical_histogram,
    feature_histograms,
    numeric_histogram,
    shared_edges,
)
from k8s_mlserve.drift.reference import (
    CategoricalProfile,
    NumericProfile,
    categorical_profile,
    numeric_profile,
)
from k8s_mlserve.drift.report import _plot_categorical, _plot_numeric

from ...drift_cases import Case


class RecordingAxes:
    """Stands in for a matplotlib Axes: keeps what the report asks it to draw."""

    def __init__(self) -> None:
        self.hist_bins: list[list[float]] = []
        self.bars: list[list[float]] = []
        self.ticks: list[str] = []

    def hist(self, values: Any, *, bins: list[float], **style: Any) -> None:
        self.hist_bins.append(list(bins))

    def bar(self, x: Any, heights: list[float], **style: Any) -> None:
        self.bars.append(list(heights))

    def set_xticks(self, x: Any, labels: list[str], **style: Any) -> None:
        self.ticks = list(labels)

    def set_ylabel(self, *args: Any, **kwargs: Any) -> None:
        pass


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as the server's window holds them: plain values, None for missing."""
    return [
        {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


@pytest.fixture(scope="module")
def shifted(synthetic: Case) -> pd.DataFrame:
    current = synthetic.holdout.copy()
    current["dose"] += 30
    return current


def test_numeric_edges_cover_both_samples_and_counts_sum_to_the_rows(
    synthetic: Case, shifted: pd.DataFrame
) -> None:
    profile = synthetic.reference.feature("income")  # has missing values
    assert isinstance(profile, NumericProfile)
    found = numeric_histogram(profile, shifted["income"])
    present = shifted["income"].dropna()
    assert len(found.edges) == len(found.reference) + 1 == len(found.current) + 1
    assert found.edges == sorted(found.edges)
    assert found.edges[0] <= min(min(profile.sample), present.min())
    assert found.edges[-1] >= max(max(profile.sample), present.max())
    assert sum(found.current) == len(present)
    assert sum(found.reference) == len(profile.sample)


def test_a_shift_moves_the_current_mass_past_the_reference_median(
    synthetic: Case, shifted: pd.DataFrame
) -> None:
    profile = synthetic.reference.feature("dose")
    assert isinstance(profile, NumericProfile)
    found = numeric_histogram(profile, shifted["dose"])
    centres = np.diff(found.edges) / 2 + np.array(found.edges[:-1])
    median = float(np.median(profile.sample))
    above = centres > median

    def share_above(counts: list[int]) -> float:
        return float(np.asarray(counts)[above].sum()) / sum(counts)

    assert share_above(found.reference) < 0.6
    assert share_above(found.current) > 0.85


def test_small_integer_ranges_get_one_bin_per_value() -> None:
    edges = shared_edges(np.array([1.0, 2.0, 2.0]), np.array([4.0, np.nan]))
    assert edges == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert shared_edges(np.array([]), np.array([np.nan])) == []


def test_categorical_shares_sum_to_one_and_new_levels_follow_the_reference_levels(
    synthetic: Case,
) -> None:
    profile = synthetic.reference.feature("plan")
    assert isinstance(profile, CategoricalProfile)
    current = ["gold"] * 5 + ["platinum"] * 3 + [None, float("nan")]
    found = categorical_histogram(profile, current)
    assert found.levels == ["basic", "gold", "silver", "platinum"]  # reference by share, then new
    assert sum(found.reference) == pytest.approx(1.0)
    assert sum(found.current) == pytest.approx(1.0)  # among the 8 non-missing values
    assert found.current == pytest.approx([0.0, 5 / 8, 0.0, 3 / 8])


def test_levels_past_the_limit_are_summed_as_other() -> None:
    reference = [f"level{i:02d}" for i in range(20) for _ in range(20 - i)]
    profile = categorical_profile("many", reference)
    found = categorical_histogram(profile, ["level19"] * 4 + ["level00"] * 4)
    assert len(found.levels) == MAX_LEVELS + 1
    assert found.levels[0] == "level00"
    assert found.levels[-1] == OTHER_LEVEL
    assert sum(found.reference) == pytest.approx(1.0)
    assert found.current[0] == pytest.approx(0.5)
    assert found.current[-1] == pytest.approx(0.5)  # level19 is past the limit


def test_the_histograms_of_window_rows_are_those_of_the_same_frame(
    synthetic: Case, shifted: pd.DataFrame
) -> None:
    from_rows = feature_histograms(synthetic.reference, _rows(shifted))
    assert [h.name for h in from_rows] == synthetic.reference.names
    for found in from_rows:
        profile = synthetic.reference.feature(found.name)
        if isinstance(profile, NumericProfile):
            assert found == numeric_histogram(profile, shifted[found.name])
        else:
            assert found == categorical_histogram(profile, shifted[found.name])


def test_the_html_report_draws_the_same_bins_and_shares(
    synthetic: Case, shifted: pd.DataFrame
) -> None:
    rng = np.random.default_rng(3)
    profile = numeric_profile("x", rng.normal(size=500), 10, 200, rng)
    current = rng.normal(1.0, 1.0, size=300)
    axes = RecordingAxes()
    _plot_numeric(axes, np.asarray(profile.sample), current)  # type: ignore[arg-type]
    edges = numeric_histogram(profile, current.tolist()).edges
    assert axes.hist_bins == [edges, edges]

    plan = synthetic.reference.feature("plan")
    assert isinstance(plan, CategoricalProfile)
    axes = RecordingAxes()
    _plot_categorical(axes, plan, shifted["plan"])  # type: ignore[arg-type]
    served = categorical_histogram(plan, shifted["plan"].tolist())
    assert axes.bars == [served.reference, served.current]
    assert axes.ticks == served.levels
