from __future__ import annotations

import threading

import pytest

from k8s_mlserve.drift import DriftWindow


def test_the_window_keeps_only_the_most_recent_rows() -> None:
    window = DriftWindow(size=3)
    window.extend([{"x": 1}, {"x": 2}], ["a", "b"], [0.1, 0.2])
    window.extend([{"x": 3}, {"x": 4}], ["c", "d"], [0.3, 0.4])
    snap = window.snapshot()
    assert len(window) == 3
    assert window.size == 3
    assert [r["x"] for r in snap.rows] == [2, 3, 4]
    assert snap.labels == ["b", "c", "d"]
    assert snap.scores == [0.2, 0.3, 0.4]


def test_labels_and_scores_are_optional_and_stay_aligned() -> None:
    window = DriftWindow(size=10)
    window.extend([{"x": 1}])
    window.extend([{"x": 2}], ["b"], [None])
    window.extend([{"x": 3}], ["c"], [0.9])
    snap = window.snapshot()
    assert len(snap.rows) == 3
    assert snap.labels == ["b", "c"]
    assert snap.scores == [0.9]


def test_misaligned_batches_are_refused() -> None:
    window = DriftWindow(size=10)
    with pytest.raises(ValueError, match="2 rows but 1 labels"):
        window.extend([{"x": 1}, {"x": 2}], ["a"])
    assert len(window) == 0


def test_a_snapshot_does_not_change_with_the_window() -> None:
    window = DriftWindow(size=5)
    window.extend([{"x": 1}])
    snap = window.snapshot()
    window.extend([{"x": 2}])
    window.clear()
    assert [r["x"] for r in snap.rows] == [1]
    assert len(window) == 0


def test_concurrent_batches_keep_rows_labels_and_scores_together() -> None:
    window = DriftWindow(size=500)

    def feed(worker: int) -> None:
        for batch in range(200):
            rows = [{"worker": worker, "i": batch * 4 + k} for k in range(4)]
            labels = [f"{worker}:{r['i']}" for r in rows]
            window.extend(rows, labels, [float(worker)] * 4)

    threads = [threading.Thread(target=feed, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snap = window.snapshot()
    assert len(snap.rows) == 500
    for row, label, score in zip(snap.rows, snap.labels, snap.scores, strict=True):
        assert label == f"{row['worker']}:{row['i']}"
        assert score == float(row["worker"])


def test_a_window_holds_at_least_one_row() -> None:
    with pytest.raises(ValueError, match="at least one row"):
        DriftWindow(size=0)
