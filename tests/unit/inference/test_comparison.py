"""Shadow comparison statistics: per-row agreement and |Δp|, sums, the label table, resets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from k8s_mlserve.inference.comparison import (
    RowComparison,
    ShadowStats,
    compare_results,
)


def _classified(label: str, **probabilities: float) -> dict[str, Any]:
    return {"label": label, "probabilities": probabilities, "model_version": "v1"}


def test_rows_compare_labels_and_the_largest_probability_difference() -> None:
    champion = [_classified("a", a=0.7, b=0.3), _classified("b", a=0.2, b=0.8)]
    challenger = [_classified("a", a=0.6, b=0.4), _classified("a", a=0.9, b=0.1)]
    rows = compare_results(champion, challenger)
    assert [row.agree for row in rows] == [True, False]
    assert [row.abs_delta for row in rows] == pytest.approx([0.1, 0.7])
    assert [(row.champion_label, row.challenger_label) for row in rows] == [("a", "a"), ("b", "a")]


def test_a_class_one_model_lacks_counts_as_probability_zero() -> None:
    (row,) = compare_results([_classified("a", a=0.5, b=0.5)], [_classified("c", a=0.5, c=0.5)])
    assert row.abs_delta == pytest.approx(0.5)


def test_regressors_compare_their_predictions() -> None:
    rows = compare_results(
        [{"label": 2.5}, {"label": 1}], [{"label": 1.0}, {"label": 1}], regression=True
    )
    assert [row.abs_delta for row in rows] == [1.5, 0.0]
    assert [row.agree for row in rows] == [False, True]


def test_without_probabilities_a_row_has_no_delta() -> None:
    (row,) = compare_results([{"label": "a"}], [_classified("a", a=1.0)])
    assert (row.agree, row.abs_delta) == (True, None)


def test_both_models_must_answer_every_row() -> None:
    with pytest.raises(ValueError, match="answered 1 rows and the challenger 2"):
        compare_results([{"label": 1}], [{"label": 1}, {"label": 2}])


def test_a_comparison_sums_its_rows() -> None:
    stats = ShadowStats()
    generation = stats.generation
    first = [RowComparison("a", "a", 0.1), RowComparison("b", "a", 0.7)]
    second = [RowComparison("b", "b", 0.2), RowComparison("a", "a", None)]
    assert stats.record(first, 0.010, generation=generation)
    assert stats.record(second, 0.030, generation=generation)
    stats.dropped(3)
    assert stats.failed(2, generation=generation)
    summary = stats.summary()
    assert (summary.rows_scored, summary.rows_dropped, summary.errors) == (4, 3, 2)
    assert summary.agreement == pytest.approx(3 / 4)
    assert summary.mean_abs_delta == pytest.approx((0.1 + 0.7 + 0.2) / 3)
    assert summary.max_abs_delta == pytest.approx(0.7)
    assert summary.labels == {"a": {"a": 2}, "b": {"a": 1, "b": 1}}
    assert summary.latency.mean == pytest.approx(0.020)
    assert (summary.latency.p50, summary.latency.p99) == (0.010, 0.030)


def test_an_empty_comparison_has_no_figures() -> None:
    summary = ShadowStats().summary()
    assert (summary.rows_scored, summary.rows_dropped, summary.errors) == (0, 0, 0)
    assert (summary.agreement, summary.mean_abs_delta, summary.max_abs_delta) == (None,) * 3
    assert summary.labels == {}
    assert (summary.latency.mean, summary.latency.p50, summary.latency.p99) == (None,) * 3


def test_the_label_table_can_be_left_out() -> None:
    stats = ShadowStats()
    stats.record([RowComparison(1.5, 1.0, 0.5)], 0.01, generation=0, label_table=False)
    assert stats.summary().labels == {}
    assert stats.summary().rows_scored == 1


def test_percentiles_are_nearest_rank_over_the_latest_calls() -> None:
    stats = ShadowStats(latency_window=100)
    for seconds in range(1, 201):  # only 101..200 stay in the window
        stats.record([RowComparison("a", "a", 0.0)], float(seconds), generation=0)
    latency = stats.summary().latency
    assert (latency.p50, latency.p99) == (150.0, 199.0)
    assert latency.mean == pytest.approx(100.5)  # over every call of the comparison


def test_a_reset_starts_a_new_comparison_and_ignores_the_old_one() -> None:
    times = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)])
    stats = ShadowStats(clock=lambda: next(times))
    old = stats.generation
    stats.record([RowComparison("a", "b", 0.4)], 0.01, generation=old)
    stats.dropped(1)
    new = stats.reset()
    assert new != old
    assert not stats.record([RowComparison("a", "b", 0.4)], 0.01, generation=old)
    assert not stats.failed(1, generation=old)
    summary = stats.summary()
    assert (summary.rows_scored, summary.rows_dropped, summary.errors) == (0, 0, 0)
    assert summary.labels == {}
    assert summary.latency.mean is None
    assert summary.since == datetime(2026, 1, 2, tzinfo=UTC)
    assert stats.record([RowComparison("a", "a", 0.0)], 0.01, generation=new)
    assert stats.summary().agreement == 1.0
