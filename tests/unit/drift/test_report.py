"""The text, JSON and HTML drift reports of a synthetic shift (the HTML report as drawn by a real
browser is tested in tests/integration/drift/test_report.py)."""

from __future__ import annotations

import re

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
    assert lines[0].startswith("dataset:")
    assert "NO DRIFT" in lines[0]
    assert lines[1].startswith("features:")
    assert "dose" in lines[1]
    assert lines[2].startswith("predictions:")
    assert "DRIFT" in lines[2]
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
