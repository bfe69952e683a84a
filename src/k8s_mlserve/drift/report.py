"""Drift reports for people and machines: a text table, JSON, and a self-contained HTML page.

Each form heads with the report's one verdict (``DriftReport.verdict``), in the same words. The
HTML page embeds one PNG per feature (reference against current distribution) as a ``data:`` URI,
so it can be mailed, archived or opened from a volume without any other file. Plotting needs
matplotlib (the ``report`` extra), imported only when a page is rendered; without it the page has
the verdict and the table, and says which extra draws the plots.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..extras import install_hint
from .detector import DriftReport, FeatureDrift
from .histograms import categorical_histogram, shared_edges
from .reference import CategoricalProfile, NumericProfile, ReferenceProfile, numeric_values

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_REFERENCE_COLOUR = "#4c72b0"
_CURRENT_COLOUR = "#dd8452"


def render_json(report: DriftReport) -> str:
    """The report as indented JSON."""
    return report.model_dump_json(indent=2) + "\n"


def render_text(report: DriftReport) -> str:
    """A plain-text summary and table, for a terminal or a job log."""
    t = report.thresholds
    lines = [
        f"{label + ':':<13}{verdict.upper()}  {detail}".rstrip()
        for label, verdict, detail in _summary(report)
    ]
    lines += [
        f"window: {report.window_size} rows; reference: {report.reference_rows} rows; "
        f"p < {t.p_value:g} ({t.correction}), PSI bands {t.psi_warning:g}/{t.psi_drift:g}, "
        f"dataset share {t.dataset_share:g}",
    ]
    results = list(report.features)
    if report.prediction is not None:
        results += [r for r in (report.prediction.labels, report.prediction.scores) if r]
    if results:
        header = ("feature", "kind", "test", "statistic", "p-value", "adj. p", "PSI", "verdict")
        table = [header] + [_text_row(r) for r in results]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines.append("")
        for row in table:
            lines.append(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
    return "\n".join(lines) + "\n"


def render_html(
    report: DriftReport,
    reference: ReferenceProfile,
    current: pd.DataFrame | None = None,
    *,
    labels: Sequence[Any] | None = None,
    scores: Sequence[float] | None = None,
    title: str = "Drift report",
) -> str:
    """A self-contained HTML page: verdict, statistics table, and one histogram per feature.

    Without matplotlib the page has no histograms and says so (see ``plots_unavailable``).
    """
    results = {r.name: r for r in report.features}
    cards: list[str] = []
    has_data = current is not None or labels is not None or scores is not None
    no_plots = plots_unavailable() if has_data else None
    if current is not None and no_plots is None:
        for feature in reference.features:
            if feature.name in results and feature.name in current.columns:
                image = _plot(feature, current[feature.name])
                cards.append(_card(results[feature.name], image))
    prediction = report.prediction
    if prediction is not None and no_plots is None:
        pairs: list[tuple[FeatureDrift | None, NumericProfile | CategoricalProfile | None, Any]] = [
            (prediction.labels, reference.predictions.labels, labels),
            (prediction.scores, reference.predictions.scores, scores),
        ]
        for result, profile, values in pairs:
            if result is not None and profile is not None and values is not None:
                cards.append(_card(result, _plot(profile, pd.Series(list(values)))))
    rows = list(report.features)
    if prediction is not None:
        rows += [r for r in (prediction.labels, prediction.scores) if r]
    t = report.thresholds
    e = html.escape
    (_, headline, reason), *details = _summary(report)
    if no_plots is not None:
        empty = f'<p class="note">No distribution plots: {e(no_plots)}</p>'
    else:
        empty = "<p>No current data to plot.</p>"
    return _PAGE.format(
        title=e(title),
        verdict=e(headline),
        verdict_class=_css(headline),
        verdict_detail=e(reason),
        summary="\n".join(
            f'<li><b>{e(label)}</b> <span class="badge {_css(verdict)}">{e(verdict)}</span> '
            f"{e(detail)}</li>"
            for label, verdict, detail in details
        ),
        generated=e(report.generated_at.isoformat(timespec="seconds")),
        window=report.window_size,
        reference_rows=report.reference_rows,
        rules=e(
            f"p < {t.p_value:g} after {t.correction} correction and PSI ≥ {t.min_psi:g}; "
            f"PSI bands {t.psi_warning:g} / {t.psi_drift:g}; dataset drift when at least "
            f"{t.dataset_share:.0%} of the features drift"
        ),
        table="\n".join(_html_row(r) for r in rows),
        cards="\n".join(cards) or empty,
    )


def plots_unavailable() -> str | None:
    """Why the HTML page cannot draw its histograms (matplotlib is missing), or None."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError as exc:
        # A broken install (matplotlib present, one of its own dependencies not) says what broke.
        broken = "" if (exc.name or "").startswith("matplotlib") else f" ({exc})"
        return f"they need matplotlib{broken}, from the report extra: {install_hint('report')}"
    return None


def _summary(report: DriftReport) -> list[tuple[str, str, str]]:
    """(what, verdict, detail) lines heading a report: the verdict first, then the predictions."""
    if report.verdict == "insufficient data" and not report.features:
        return [("verdict", report.verdict, report.message.removeprefix(f"{report.verdict}: "))]
    tested = [f for f in report.features if f.verdict != "insufficient data"]
    warnings = [f.name for f in report.features if f.verdict == "warning"]
    detail = (
        f"{len(report.drifted_features)} of {len(tested)} features drift"
        + (f": {', '.join(report.drifted_features)}" if report.drifted_features else "")
        + f" ({report.drift_share:.0%}; the dataset drifts from "
        f"{report.thresholds.dataset_share:.0%})"
        + (f"; warning: {', '.join(warnings)}" if warnings else "")
    )
    lines: list[tuple[str, str, str]] = [("verdict", report.verdict, detail)]
    prediction = report.prediction
    if prediction is not None:
        parts = [
            f"{what} {result.verdict}"
            for what, result in (("labels", prediction.labels), ("scores", prediction.scores))
            if result is not None
        ]
        lines.append(("predictions", prediction.verdict, ", ".join(parts)))
    return lines


def _text_row(result: FeatureDrift) -> tuple[str, ...]:
    return (
        result.name,
        result.kind,
        result.test or "-",
        _num(result.statistic),
        _p(result.p_value),
        _p(result.adjusted_p_value),
        _num(result.psi),
        result.verdict.upper() if result.drifted else result.verdict,
    )


def _html_row(result: FeatureDrift) -> str:
    e = html.escape
    cells = [
        e(result.name),
        e(result.kind),
        e(result.test or "-"),
        _num(result.statistic),
        _p(result.p_value),
        _p(result.adjusted_p_value),
        _num(result.psi),
        e(result.psi_band or "-"),
        f"{result.current_missing_rate:.1%}",
        f'<span class="badge {_css(result.verdict)}">{e(result.verdict)}</span>',
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _card(result: FeatureDrift, image: str) -> str:
    e = html.escape
    return (
        f'<figure class="card"><figcaption><b>{e(result.name)}</b> '
        f'<span class="badge {_css(result.verdict)}">{e(result.verdict)}</span> '
        f"<small>PSI {_num(result.psi)}, p {_p(result.adjusted_p_value)}</small></figcaption>"
        f'<img alt="{e(result.name)}: reference and current distributions" '
        f'src="data:image/png;base64,{image}"></figure>'
    )


def _plot(profile: NumericProfile | CategoricalProfile, column: pd.Series[Any]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.4, 2.8), dpi=90, layout="constrained")
    ax = figure.subplots()
    if isinstance(profile, NumericProfile):
        _plot_numeric(ax, np.asarray(profile.sample, dtype=np.float64), numeric_values(column))
    else:
        _plot_categorical(ax, profile, column)
    ax.legend(fontsize=8, frameon=False)
    ax.tick_params(labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plot_numeric(
    ax: Axes, reference: npt.NDArray[np.float64], current: npt.NDArray[np.float64]
) -> None:
    current = current[np.isfinite(current)]
    edges = shared_edges(reference, current)
    if not edges:
        return
    if reference.size:
        ax.hist(
            reference,
            bins=edges,
            density=True,
            color=_REFERENCE_COLOUR,
            alpha=0.45,
            label="reference",
        )
    if current.size:
        ax.hist(
            current,
            bins=edges,
            density=True,
            histtype="step",
            linewidth=1.8,
            color=_CURRENT_COLOUR,
            label="current",
        )
    ax.set_ylabel("density", fontsize=8)


def _plot_categorical(ax: Axes, profile: CategoricalProfile, column: pd.Series[Any]) -> None:
    shares = categorical_histogram(profile, column)
    x = np.arange(len(shares.levels))
    ax.bar(
        x - 0.2, shares.reference, width=0.4, color=_REFERENCE_COLOUR, alpha=0.7, label="reference"
    )
    ax.bar(x + 0.2, shares.current, width=0.4, color=_CURRENT_COLOUR, label="current")
    ax.set_xticks(x, [_shorten(level) for level in shares.levels], rotation=30, ha="right")
    ax.set_ylabel("share", fontsize=8)


def _shorten(text: str) -> str:
    return text if len(text) <= 18 else text[:17] + "…"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2e}" if value < 0.001 else f"{value:.3f}"


def _css(verdict: str) -> str:
    return verdict.replace(" ", "-")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
h1 {{ margin-bottom: 0.2rem; }}
.meta {{ color: #555; margin: 0.2rem 0; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }}
th {{ background: #f4f4f4; }}
.badge {{ padding: 0.1rem 0.5rem; border-radius: 0.6rem; font-size: 0.8rem; color: #fff; }}
.drift, .feature-drift, .prediction-drift {{ background: #c0392b; }}
.dataset-drift {{ background: #7b241c; }}
.warning {{ background: #d68910; }}
.no-drift {{ background: #27ae60; }}
.insufficient-data {{ background: #7f8c8d; }}
.verdict {{ font-size: 1.2rem; margin: 0.8rem 0 0.4rem; }}
.verdict .badge {{ font-size: 1.1rem; padding: 0.2rem 0.8rem; }}
.note {{ color: #555; font-style: italic; }}
.summary {{ list-style: none; padding: 0; line-height: 1.8; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.card {{ margin: 0; border: 1px solid #ddd; border-radius: 0.4rem; padding: 0.5rem; }}
.card img {{ display: block; max-width: 100%; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="verdict"><span class="badge {verdict_class}">{verdict}</span> {verdict_detail}</p>
<ul class="summary">
{summary}
</ul>
<p class="meta">Generated {generated}; {window} current rows against {reference_rows} reference
rows. A feature drifts when {rules}.</p>
<table>
<thead><tr><th>feature</th><th>kind</th><th>test</th><th>statistic</th><th>p-value</th>
<th>adjusted p</th><th>PSI</th><th>PSI band</th><th>missing</th><th>verdict</th></tr></thead>
<tbody>
{table}
</tbody>
</table>
<h2>Distributions: reference and current</h2>
<div class="grid">
{cards}
</div>
</body>
</html>
"""
