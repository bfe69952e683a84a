from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

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

from .conftest import Case

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def shifted(diabetes: Case) -> tuple[pd.DataFrame, list[str], list[float], DriftReport]:
    current = diabetes.holdout.copy()
    current["Glucose"] += 30
    labels, scores = diabetes.predict(current)
    report = DriftDetector(diabetes.reference).compare(current, labels, scores)
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
    assert "Glucose" in lines[1]
    assert lines[2].startswith("predictions:")
    assert "DRIFT" in lines[2]
    glucose = next(line for line in lines if line.startswith("Glucose "))
    assert glucose.split()[2] == "ks"
    assert glucose.endswith("DRIFT")
    for name in current.columns:
        assert any(line.startswith(name + " ") for line in lines), name


def test_json_report_round_trips(
    shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport],
) -> None:
    report = shifted[3]
    assert DriftReport.model_validate_json(render_json(report)) == report


def test_html_report_is_self_contained_with_one_image_per_feature(
    diabetes: Case, shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport]
) -> None:
    current, labels, scores, report = shifted
    page = render_html(report, diabetes.reference, current, labels=labels, scores=scores)
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # Eight features, then the predicted labels and the scores.
    assert len(images) == 10
    assert images[1][0].startswith("Glucose")
    assert all(len(data) > 2000 for _, data in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<td>Glucose</td>" in page


def test_html_escapes_names() -> None:
    frame = pd.DataFrame({"<b>x</b>": np.arange(200, dtype=float)})
    reference = ReferenceProfile.model_validate(build_reference(frame, InputSchema.infer(frame)))
    report = DriftDetector(reference).compare(frame)
    page = render_html(report, reference, frame)
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_html_without_current_data_has_the_table_only(
    diabetes: Case, shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport]
) -> None:
    page = render_html(shifted[3], diabetes.reference)
    assert "<img" not in page
    assert "No current data to plot" in page


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def test_html_report_renders_histograms_in_a_browser(
    tmp_path: Path,
    diabetes: Case,
    shifted: tuple[pd.DataFrame, list[str], list[float], DriftReport],
) -> None:
    import matplotlib.image

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium) to render the report")
    current, labels, scores, report = shifted
    page = tmp_path / "report.html"
    page.write_text(render_html(report, diabetes.reference, current, labels=labels, scores=scores))
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file()
    pixels = matplotlib.image.imread(shot)[:, :, :3]
    rgb = np.round(pixels * 255).astype(int)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 200  # not a blank page
    # The current histograms are drawn in orange (#dd8452), the reference bars in blue.
    orange = np.abs(rgb - [221, 132, 82]).sum(axis=2) < 40
    blue = (rgb[:, :, 2] > rgb[:, :, 0] + 30) & (rgb[:, :, 2] > 150)
    assert orange.sum() > 2000
    assert blue.sum() > 20000
    # Histograms fill the lower part of the page, below the table.
    assert orange[rgb.shape[0] // 3 :].sum() > 1000
