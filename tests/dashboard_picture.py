"""The Grafana dashboard's panels drawn with matplotlib from Prometheus range queries: the picture
of docs/monitoring.md, drawn from real data by ``tests/integration/test_prometheus.py``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from k8s_mlserve.manifests.dashboard_queries import Panel

_AXIS_LABELS = {"reqps": "requests/s", "percentunit": "share", "s": "seconds"}


class Series(NamedTuple):
    """One series of a range query: its labels and its samples (seconds from the start)."""

    labels: Mapping[str, str]
    times: Sequence[float]
    values: Sequence[float]


def legend(template: str, labels: Mapping[str, str]) -> str:
    """Grafana's legend format: ``{{name}}`` replaced by the series' label ``name``."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def draw_dashboard(
    panels: Sequence[Panel], query_range: Callable[[str], list[Series]], path: Path, title: str
) -> Path:
    """Draw each panel, two a row as the dashboard lays them out, into the PNG at ``path``.

    ``query_range`` runs one of the panels' PromQL queries over the time drawn.
    """
    from matplotlib.figure import Figure

    rows = math.ceil(len(panels) / 2)
    figure = Figure(figsize=(12, 2.6 * rows), dpi=80, layout="constrained")
    figure.suptitle(title)
    axes = figure.subplots(rows, 2, squeeze=False).flatten()
    for ax, panel in zip(axes, panels, strict=False):
        for query in panel.queries:
            for series in query_range(query.expr):
                ax.plot(series.times, series.values, label=legend(query.legend, series.labels))
        ax.set_title(panel.title, fontsize=10)
        ax.set_ylabel(_AXIS_LABELS.get(panel.unit, ""), fontsize=8)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, frameon=False, ncol=2)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    figure.savefig(path, format="png")
    return path
