"""The HTML drift report of the diabetes data, drawn by a real browser (headless Chromium)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.drift import DriftDetector, DriftReport, render_html

from ...drift_cases import Case

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def shifted(diabetes: Case) -> tuple[pd.DataFrame, list[str], list[float], DriftReport]:
    current = diabetes.holdout.copy()
    current["Glucose"] += 30
    labels, scores = diabetes.predict(current)
    report = DriftDetector(diabetes.reference).compare(current, labels, scores)
    return current, labels, scores.tolist(), report


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
