"""``k8s-mlserve drift`` on a synthetic bundle: exit codes, outputs, request logs and errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from k8s_mlserve.cli import main
from k8s_mlserve.drift import DriftReport, RequestLogger

from ...drift_cases import Case


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "current.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_no_drift_exits_0(
    tmp_path: Path, synthetic: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    # A raw export: an id and the target beside the features, blank income cells.
    frame = synthetic.holdout.copy()
    assert frame["income"].isna().any()
    frame.insert(0, "patientID", [f"id-{i}" for i in range(len(frame))])
    frame["outcome"] = "no"
    path = _csv(tmp_path, frame)
    code = main(["drift", "--bundle", str(synthetic.bundle), "--current", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out.startswith("verdict:     NO DRIFT  0 of 6 features drift")
    assert "predicting" in err
    assert "predictions: NO DRIFT" in out


def test_drift_exits_1_and_writes_json_and_html(
    tmp_path: Path, synthetic: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = synthetic.holdout.copy()
    frame["dose"] += 30
    report_json = tmp_path / "drift.json"
    report_html = tmp_path / "drift.html"
    code = main(
        [
            "drift",
            "--bundle",
            str(synthetic.bundle),
            "--current",
            str(_csv(tmp_path, frame)),
            "--json",
            str(report_json),
            "--html",
            str(report_html),
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.startswith("verdict:     FEATURE DRIFT  1 of 6 features drift: dose")
    report = DriftReport.model_validate_json(report_json.read_text())
    assert json.loads(report_json.read_text())["verdict"] == "feature drift"
    assert report.drifted_features == ["dose"]
    assert not report.dataset_drift
    assert report.prediction is not None
    assert report.prediction.drifted
    page = report_html.read_text()
    assert page.count("data:image/png;base64,") == len(frame.columns) + 2
    assert "Drift report: synthetic version v1" in page
    assert '<p class="verdict"><span class="badge feature-drift">feature drift</span>' in page


@pytest.mark.parametrize(
    ("moved", "verdict", "fail_on_any", "fail_on_dataset"),
    [
        ([], "no drift", 0, 0),
        (["dose"], "feature drift", 1, 0),
        (["dose", "age", "weight"], "dataset drift", 1, 1),
    ],
)
def test_the_exit_code_follows_the_verdict_and_fail_on(
    tmp_path: Path,
    synthetic: Case,
    capsys: pytest.CaptureFixture[str],
    moved: list[str],
    verdict: str,
    fail_on_any: int,
    fail_on_dataset: int,
) -> None:
    frame = synthetic.train.sample(n=200, random_state=1)
    for name in moved:
        frame[name] = frame[name] * 1.3 + 10
    report = tmp_path / "drift.json"
    args = ["drift", "--bundle", str(synthetic.bundle), "--current", str(_csv(tmp_path, frame))]
    args += ["--no-predict", "-q", "--json", str(report)]
    assert main(args) == fail_on_any
    assert json.loads(report.read_text())["verdict"] == verdict
    assert capsys.readouterr().out.startswith(f"verdict:     {verdict.upper()}  ")
    assert main([*args, "--fail-on", "dataset"]) == fail_on_dataset


def test_prediction_drift_alone_fails_by_default_only(
    tmp_path: Path, synthetic: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = synthetic.holdout.copy()
    _, scores = synthetic.predict(frame)
    rows = json.loads(frame.to_json(orient="records"))
    with RequestLogger(tmp_path / "logs", max_bytes=1 << 20, backups=1, name="pod") as log:
        log.log(rows, ["yes"] * len(rows), [min(1.0, s + 0.4) for s in scores], "v1")
    args = ["drift", "--bundle", str(synthetic.bundle), "--current", str(tmp_path / "logs")]
    assert main([*args, "-q"]) == 1
    assert capsys.readouterr().out.startswith("verdict:     PREDICTION DRIFT  0 of 6 features")
    assert main([*args, "-q", "--fail-on", "dataset"]) == 0


def test_html_without_the_report_extra_keeps_the_verdict_and_its_exit_code(
    tmp_path: Path,
    synthetic: Case,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the report extra were not installed
    frame = synthetic.holdout.copy()
    frame["dose"] += 30
    page = tmp_path / "drift.html"
    args = ["drift", "--bundle", str(synthetic.bundle), "--current", str(_csv(tmp_path, frame))]
    code = main([*args, "--html", str(page), "-q"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("verdict:     FEATURE DRIFT")
    assert "\ndose " in out  # the table
    assert "error" not in err
    assert err == (
        f"warning: wrote {page} without distribution plots: they need matplotlib, from the "
        "report extra: pip install 'k8s-mlserve[report]'\n"
    )
    html = page.read_text()
    assert '<span class="badge feature-drift">feature drift</span>' in html
    assert "<td>dose</td>" in html
    assert "<img" not in html
    assert main([*args, "--html", str(page), "-q", "--fail-on", "dataset"]) == 0


def test_a_request_log_directory(
    tmp_path: Path, synthetic: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = synthetic.holdout.copy()
    frame["dose"] += 30
    labels, scores = synthetic.predict(frame)
    rows = json.loads(frame.to_json(orient="records"))
    with RequestLogger(tmp_path / "logs", max_bytes=8192, backups=20, name="pod") as log:
        for start in range(0, len(rows), 10):
            end = start + 10
            log.log(rows[start:end], labels[start:end], scores[start:end].tolist(), "v1")
    assert len(list((tmp_path / "logs").iterdir())) > 1  # rotated files are read too
    args = ["drift", "--bundle", str(synthetic.bundle), "--current", str(tmp_path / "logs")]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert f"current: {len(rows)} rows" in err
    assert "dose" in out
    assert "scores drift" in out
    assert main([*args, "--last", "50"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("verdict:     INSUFFICIENT DATA  only 50 rows, at least 100 needed")
    assert main([*args, "--model-version", "v0"]) == 0


def test_thresholds_come_from_the_environment(
    tmp_path: Path, synthetic: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = synthetic.holdout.copy()
    frame["dose"] += 30
    args = ["drift", "--bundle", str(synthetic.bundle), "--current", str(_csv(tmp_path, frame))]
    monkeypatch.setenv("MLSERVE_DRIFT__MIN_ROWS", "1000")
    assert main([*args, "-q"]) == 0
    assert main([*args, "-q", "--min-rows", "100"]) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--current", "missing.csv"], "neither a CSV file nor a request log"),
        (["--current", "columns.csv"], "lacks the feature column(s) ['dose']"),
        (["--current", "current.csv", "--p-value", "2"], "invalid drift threshold"),
        (["--current", "current.csv", "--bundle", "nowhere"], "does not exist"),
    ],
)
def test_errors_exit_2(
    tmp_path: Path,
    synthetic: Case,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path, synthetic.holdout)
    _csv(tmp_path, synthetic.holdout.drop(columns="dose"), "columns.csv")
    code = main(["drift", "--bundle", str(synthetic.bundle), *extra])
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err


def test_a_bundle_without_reference_exits_2(
    tmp_path: Path, synthetic: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(synthetic.bundle, bundle)
    (bundle / "reference.json").unlink()
    code = main(
        ["drift", "--bundle", str(bundle), "--current", str(_csv(tmp_path, synthetic.holdout))]
    )
    assert code == 2
    assert "without a drift reference" in capsys.readouterr().err
