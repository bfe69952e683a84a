"""The text, JSON and HTML drift reports of a synthetic shift (the HTML report as drawn by a real
browser is tested in tests/integration/drift/test_report.py)."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.drift import (
    DriftDetector,
    DriftReport,
    ReferenceProfile,
    build_reference,
    render_html,
    render_json,
    render_text,
)
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.settings import DriftSettings

from ...drift_cases import Case


@pytest.fixture(scope="module")
def shifted(synthetic: Case) -> tuple[pd.DataFrame, list[str], list[float], DriftReport]:
    current = synthetic.holdout.copy()
    current["dose"] += 30
    labels, scores = synthetic.predict(current)
    report = DriftDetector(synthetic.reference).compare(current, labels, scores)
    return current, labels, scores.tolist(), report


def test_text_report_lists_every_feature_and_the_verdicts(
    shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport],
) -> None:
    current, _, _, report = shifted
    text = render_text(report)
    lines = text.splitlines()
    assert report.verdict == "feature drift"
    assert lines[0].startswith("verdict:     FEATURE DRIFT  1 of 6 features drift: dose (17%;")
    assert "NO DRIFT" not in text
    assert lines[1].startswith("predictions: DRIFT")
    dose = next(line for line in lines if line.startswith("dose "))
    assert dose.split()[2] == "ks"
    assert dose.endswith("DRIFT")
    for name in current.columns:
        assert any(line.startswith(name + " ") for line in lines), name


def test_json_report_round_trips(
    shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport],
) -> None:
    report = shifted[3]
    assert DriftReport.model_validate_json(render_json(report)) == report


def test_html_report_is_self_contained_with_one_image_per_feature(
    synthetic: Case, shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport]
) -> None:
    current, labels, scores, report = shifted
    page = render_html(report, synthetic.reference, current, labels=labels, scores=scores)
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # The features in order, then the predicted labels and the scores.
    names = [alt.split(":")[0] for alt, _ in images]
    assert names == [*current.columns, "prediction", "score"]
    assert all(len(data) > 2000 for _, data in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<td>dose</td>" in page


def test_html_escapes_names() -> None:
    frame = pd.DataFrame({"<b>x</b>": np.arange(200, dtype=float)})
    reference = ReferenceProfile.model_validate(build_reference(frame, InputSchema.infer(frame)))
    report = DriftDetector(reference).compare(frame)
    page = render_html(report, reference, frame)
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_html_without_current_data_has_the_table_only(
    synthetic: Case, shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport]
) -> None:
    page = render_html(shifted[3], synthetic.reference)
    assert "<img" not in page
    assert "No current data to plot" in page


_HEADLINE = re.compile(r'<p class="verdict"><span class="badge ([a-z-]+)">([a-z ]+)</span>')


def _colour(page: str, css_class: str) -> str:
    """The background colour the page's style gives a badge class."""
    for selectors, colour in re.findall(
        r"^([^{\n]+) \{ background: (#[0-9a-f]{6}); \}", page, re.M
    ):
        if f".{css_class}" in [s.strip() for s in selectors.split(",")]:
            return str(colour)
    raise AssertionError(f"no colour for .{css_class}")


@pytest.mark.parametrize(
    ("shift", "dataset_share", "verdict"),
    [
        ({}, 0.5, "no drift"),
        ({"dose": 30}, 0.5, "feature drift"),
        ({"dose": 30, "age": 30, "weight": 30}, 0.5, "dataset drift"),
        ({"dose": 30}, 0.1, "dataset drift"),
    ],
)
def test_the_html_headline_shows_the_json_verdict_in_its_colour(
    synthetic: Case, shift: dict[str, float], dataset_share: float, verdict: str
) -> None:
    current = synthetic.holdout.copy()
    for name, by in shift.items():
        current[name] += by
    detector = DriftDetector(synthetic.reference, DriftSettings(dataset_share=dataset_share))
    report = detector.compare(current)
    assert report.verdict == verdict
    page = render_html(report, synthetic.reference)
    headline = _HEADLINE.search(page)
    assert headline is not None
    assert headline.groups() == (verdict.replace(" ", "-"), verdict)
    assert json.loads(render_json(report))["verdict"] == verdict
    assert render_text(report).startswith(f"verdict:     {verdict.upper()}  ")
    green = _colour(page, "no-drift")
    assert (_colour(page, headline.group(1)) == green) == (verdict == "no drift")


def test_html_without_matplotlib_has_the_verdict_and_table_and_names_the_extra(
    synthetic: Case,
    shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the report extra were not installed
    current, labels, scores, report = shifted
    page = render_html(report, synthetic.reference, current, labels=labels, scores=scores)
    assert "<img" not in page
    assert '<span class="badge feature-drift">feature drift</span>' in page
    assert "<td>dose</td>" in page
    assert "No distribution plots: they need matplotlib, from the report extra: " in page
    assert "pip install &#x27;k8s-mlserve[report]&#x27;" in page
