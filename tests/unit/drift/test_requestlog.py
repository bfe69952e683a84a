from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from k8s_mlserve.drift import RequestLogger, read_request_log
from k8s_mlserve.drift.requestlog import log_files
from k8s_mlserve.errors import DatasetError

ROW = {"Glucose": 148, "BMI": 33.6, "Contract": "One year"}


def _clock() -> str:
    return "2026-01-01T00:00:00.000+00:00"


def test_each_row_becomes_one_json_line(tmp_path: Path) -> None:
    logger = RequestLogger(tmp_path / "logs", name="pod-a", clock=_clock)
    assert logger.log([ROW, {**ROW, "Glucose": 90}], ["1", "0"], [0.8, 0.2], model_version="v3")
    logger.close()
    lines = (tmp_path / "logs" / "pod-a.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "ts": _clock(),
            "features": ROW,
            "prediction": "1",
            "score": 0.8,
            "model_version": "v3",
        },
        {
            "ts": _clock(),
            "features": {**ROW, "Glucose": 90},
            "prediction": "0",
            "score": 0.2,
            "model_version": "v3",
        },
    ]
    assert logger.written == 2
    assert logger.errors == 0


def test_the_default_file_name_carries_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTNAME", "churn-7d9f/x")
    logger = RequestLogger(tmp_path)
    assert logger.path.name == "requests-churn-7d9f_x.jsonl"


def test_files_rotate_by_size_and_old_ones_are_dropped(tmp_path: Path) -> None:
    logger = RequestLogger(tmp_path, max_bytes=2000, backups=2, name="pod")
    for i in range(200):
        logger.log([{**ROW, "i": i}], ["0"], [np.float64(0.5)])
    logger.close()
    files = log_files(tmp_path)
    assert [f.name for f in files] == ["pod.jsonl.2", "pod.jsonl.1", "pod.jsonl"]
    assert all(f.stat().st_size <= 2000 for f in files)
    data = read_request_log(tmp_path)
    kept = data.frame["i"].tolist()
    assert kept == list(range(200 - len(kept), 200))  # the newest rows, in order
    assert 30 < len(kept) < 200


def test_without_backups_the_file_starts_over(tmp_path: Path) -> None:
    logger = RequestLogger(tmp_path, max_bytes=1024, backups=0, name="pod")
    for i in range(100):
        logger.log([{**ROW, "i": i}], ["0"])
    logger.close()
    assert [f.name for f in log_files(tmp_path)] == ["pod.jsonl"]
    assert (tmp_path / "pod.jsonl").stat().st_size <= 1024


def test_a_write_failure_is_counted_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    logger = RequestLogger(blocker / "logs", name="pod")
    with caplog.at_level(logging.WARNING, logger="k8s_mlserve.drift.requestlog"):
        assert not logger.log([ROW], ["1"])
        assert not logger.log([ROW], ["1"])
    assert logger.errors == 2
    assert logger.written == 0
    # Reported once, not once per failure.
    assert len(caplog.records) == 1
    assert "write failed" in caplog.records[0].getMessage()


def test_values_json_cannot_hold_are_counted_as_failures(tmp_path: Path) -> None:
    with RequestLogger(tmp_path, name="pod") as logger:
        assert not logger.log([{"x": object()}], ["1"])
        assert not logger.log([ROW, ROW], ["1"])  # fewer labels than rows
        assert logger.errors == 2
        assert logger.log([ROW], ["1"])


def test_reading_skips_cut_lines_and_filters(tmp_path: Path) -> None:
    times = iter(f"2026-01-01T00:00:0{i}.000+00:00" for i in range(10))
    first = RequestLogger(tmp_path, name="pod-a", clock=lambda: next(times))
    second = RequestLogger(tmp_path, name="pod-b", clock=lambda: next(times))
    first.log([{**ROW, "i": 0}], ["0"], [0.1], model_version="v1")
    second.log([{**ROW, "i": 1}], ["1"], [0.9], model_version="v2")
    first.log([{**ROW, "i": 2}], ["1"], [None], model_version="v2")
    first.close()
    second.close()
    with (tmp_path / "pod-b.jsonl").open("a") as handle:
        handle.write('{"ts": "2026-01-01T00:00:09", "features": {"Gluc')
    (tmp_path / "notes.txt").write_text("not a log")

    data = read_request_log(tmp_path)
    assert data.frame["i"].tolist() == [0, 1, 2]
    assert data.labels == ["0", "1", "1"]
    assert data.scores == [0.1, 0.9]
    assert data.files == 2
    assert data.skipped_lines == 1
    assert read_request_log(tmp_path, model_version="v2").frame["i"].tolist() == [1, 2]
    assert read_request_log(tmp_path, max_rows=1).frame["i"].tolist() == [2]


def test_reading_a_missing_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        read_request_log(tmp_path / "nowhere")


def test_typed_records_share_the_log_and_are_not_read_as_rows(tmp_path: Path) -> None:
    logger = RequestLogger(tmp_path, name="pod-a", clock=_clock)
    assert logger.log([ROW], ["1"], [0.8], model_version="v3")
    shadow = {"type": "shadow", "request_id": "r-1", "champion": {"predictions": [1]}}
    assert logger.log_record(shadow)
    assert not logger.log_record({"type": "shadow", "value": object()})
    logger.close()
    lines = [json.loads(line) for line in (tmp_path / "pod-a.jsonl").read_text().splitlines()]
    assert lines[1] == {**shadow, "ts": _clock()}
    assert len(lines) == 2
    assert logger.errors == 1
    data = read_request_log(tmp_path)
    assert (len(data.frame), data.labels, data.skipped_lines) == (1, ["1"], 0)
    with pytest.raises(ValueError, match="needs a 'type'"):
        logger.log_record({"request_id": "r-2"})
