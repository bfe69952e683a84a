"""The Drift tab's charts: one per feature, drifted features first, reference and current shares."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.ui.drift import CURRENT, REFERENCE, feature_charts

ANSWER: dict[str, Any] = {
    "verdict": "feature drift",
    "features": [
        {"name": "age", "verdict": "no drift"},
        {"name": "plan", "verdict": "warning"},
        {"name": "dose", "verdict": "drift"},
    ],
    "histograms": [
        {
            "name": "age",
            "kind": "numeric",
            "edges": [0, 1, 2],
            "reference": [1, 3],
            "current": [2, 2],
        },
        {
            "name": "plan",
            "kind": "categorical",
            "levels": ["basic", "gold"],
            "reference": [0.75, 0.25],
            "current": [0.5, 0.5],
        },
        {
            "name": "dose",
            "kind": "numeric",
            "edges": [0, 5, 10],
            "reference": [5, 5],
            "current": [0, 8],
        },
    ],
}


def test_drifted_features_come_first_then_warnings_with_the_verdict_as_title() -> None:
    charts = feature_charts(ANSWER)
    assert [c.title for c in charts] == ["dose: drift", "plan: warning", "age: no drift"]


def test_numeric_counts_become_shares_of_each_side_per_bin() -> None:
    dose = feature_charts(ANSWER)[0]
    assert dose.kind == "numeric"
    assert dose.rows == [
        {"start": 0, "end": 5, "source": REFERENCE, "share": 0.5},
        {"start": 5, "end": 10, "source": REFERENCE, "share": 0.5},
        {"start": 0, "end": 5, "source": CURRENT, "share": 0.0},
        {"start": 5, "end": 10, "source": CURRENT, "share": 1.0},
    ]


def test_categorical_shares_are_drawn_per_level_and_side() -> None:
    plan = feature_charts(ANSWER)[1]
    assert plan.kind == "categorical"
    shares = {(r["level"], r["source"]): r["share"] for r in plan.rows}
    assert shares == {
        ("basic", REFERENCE): 0.75,
        ("gold", REFERENCE): 0.25,
        ("basic", CURRENT): 0.5,
        ("gold", CURRENT): 0.5,
    }
    assert sum(r["share"] for r in plan.rows if r["source"] == CURRENT) == pytest.approx(1.0)


def test_features_without_statistics_read_insufficient_data() -> None:
    too_few = {**ANSWER, "verdict": "insufficient data", "features": []}
    assert [c.title for c in feature_charts(too_few)] == [
        "age: insufficient data",
        "plan: insufficient data",
        "dose: insufficient data",
    ]


def test_an_answer_without_histograms_has_no_charts() -> None:
    assert feature_charts({"verdict": "no drift", "features": ANSWER["features"]}) == []
