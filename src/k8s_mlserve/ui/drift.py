"""The Drift tab's charts, read from ``GET /drift?histograms=true``: one per feature, worst first.

Each chart compares the reference with the current window as shares, so a reference sample and a
window of different sizes read on one scale: numeric bins (``start``, ``end``) or categorical
levels (``level``), with a ``source`` of ``reference`` or ``current`` and a ``share``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

REFERENCE = "reference"
CURRENT = "current"
REFERENCE_COLOUR = "#4c72b0"  # the HTML report's colours
CURRENT_COLOUR = "#dd8452"
_ORDER = ("drift", "warning", "no drift", "insufficient data")


@dataclass(frozen=True)
class FeatureChart:
    """One feature's chart: its title (the name and the verdict) and the rows to draw."""

    name: str
    verdict: str
    kind: Literal["numeric", "categorical"]
    rows: list[dict[str, Any]]

    @property
    def title(self) -> str:
        return f"{self.name}: {self.verdict}"


def feature_charts(report: Mapping[str, Any]) -> list[FeatureChart]:
    """The charts of a drift answer, drifted features first, then warnings, then the rest.

    A feature without a histogram in the answer (one asked without ``histograms=true``) has none;
    one without statistics (a window under ``drift.min_rows``) reads ``insufficient data``.
    """
    verdicts = {
        str(f.get("name")): str(f.get("verdict", "unknown"))
        for f in report.get("features") or []
        if isinstance(f, Mapping)
    }
    charts = [
        _chart(histogram, verdicts.get(str(histogram.get("name")), "insufficient data"))
        for histogram in report.get("histograms") or []
        if isinstance(histogram, Mapping)
    ]
    return sorted(charts, key=lambda c: _rank(c.verdict))  # stable: the reference's order


def _rank(verdict: str) -> int:
    return _ORDER.index(verdict) if verdict in _ORDER else len(_ORDER)


def _chart(histogram: Mapping[str, Any], verdict: str) -> FeatureChart:
    name = str(histogram.get("name"))
    reference = list(histogram.get("reference") or [])
    current = list(histogram.get("current") or [])
    if histogram.get("kind") == "numeric":
        edges = list(histogram.get("edges") or [])
        rows = [
            {"start": edges[i], "end": edges[i + 1], "source": source, "share": share}
            for source, counts in ((REFERENCE, reference), (CURRENT, current))
            for i, share in enumerate(_shares(counts))
        ]
        return FeatureChart(name, verdict, "numeric", rows)
    levels = [str(level) for level in histogram.get("levels") or []]
    rows = [
        {"level": level, "source": source, "share": float(share)}
        for source, shares in ((REFERENCE, reference), (CURRENT, current))
        for level, share in zip(levels, shares, strict=False)
    ]
    return FeatureChart(name, verdict, "categorical", rows)


def _shares(counts: Sequence[Any]) -> list[float]:
    total = float(sum(counts))
    return [float(c) / total if total else 0.0 for c in counts]
