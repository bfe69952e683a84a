"""A bounded window of the most recent validated rows and the model's outputs for them."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any


@dataclass(frozen=True)
class WindowSnapshot:
    """A copy of the window's content, oldest row first."""

    rows: list[Mapping[str, Any]]
    labels: list[Any]
    scores: list[float]


class DriftWindow:
    """The last ``size`` rows seen by one replica, with their predicted labels and scores.

    Appending is a locked ``deque.extend`` (older rows fall off), cheap enough for every
    prediction batch; the statistics are computed only on a snapshot, when a report is asked for.
    Rows are kept as given, so callers must not mutate them afterwards.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a drift window holds at least one row, got size={size}")
        self._size = size
        self._items: deque[tuple[Mapping[str, Any], Any, float | None]] = deque(maxlen=size)
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """The most rows the window keeps."""
        return self._size

    def __len__(self) -> int:
        return len(self._items)

    def extend(
        self,
        rows: Sequence[Mapping[str, Any]],
        labels: Sequence[Any] | None = None,
        scores: Sequence[float | None] | None = None,
    ) -> None:
        """Add one batch; ``labels`` and ``scores``, when given, align with ``rows``."""
        for name, values in (("labels", labels), ("scores", scores)):
            if values is not None and len(values) != len(rows):
                raise ValueError(f"{len(rows)} rows but {len(values)} {name}")
        batch = zip(
            rows,
            labels if labels is not None else repeat(None),
            scores if scores is not None else repeat(None),
            strict=False,  # lengths were checked above; repeat() is endless
        )
        with self._lock:
            self._items.extend(batch)

    def snapshot(self) -> WindowSnapshot:
        """The rows, and the labels and scores that were recorded (rows without them skipped)."""
        with self._lock:
            items = list(self._items)
        return WindowSnapshot(
            rows=[row for row, _, _ in items],
            labels=[label for _, label, _ in items if label is not None],
            scores=[float(score) for _, _, score in items if score is not None],
        )

    def clear(self) -> None:
        """Forget every row (e.g. when a new model version, with a new reference, is served)."""
        with self._lock:
            self._items.clear()
