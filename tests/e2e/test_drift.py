"""Drift on a real cluster: shifted traffic through the deployed API shows on ``/drift``, and the
drift-check CronJob, run now as a Job over the request logs on the logs claim, fails with exit
code 1 naming the feature that moved. Runs on the session's diabetes stack."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from k8s_mlserve.testing.options import MlserveOptions
from k8s_mlserve.testing.stack import DeployedStack
from k8s_mlserve.training.examples import diabetes

from .helpers import exit_codes, job_condition, wait_for_job_end

FEATURES = diabetes.FEATURES
SHIFTED = "Glucose"
SHIFT = 60
ROWS = 300  # above the default minimum window of 100 rows, for a clear verdict
BATCH = 50

@pytest.fixture(scope="module")
def stack(diabetes_stack: DeployedStack) -> DeployedStack:
    """The session's diabetes stack (conftest.DIABETES: one API pod, a drift-check CronJob).

    This module comes first among its users (files run in name order), so the drift window and
    the request log hold the shifted rows, and at most a few rows of the other suites after them.
    """
    assert diabetes_stack.objects("CronJob"), "the shared diabetes stack lost its drift check"
    return diabetes_stack


@pytest.fixture(scope="module")
def shifted_rows(mlserve_options: MlserveOptions) -> list[dict[str, Any]]:
    """Rows of the training data with Glucose raised by 60."""
    data_dir = mlserve_options.data_dir
    assert data_dir is not None, "the diabetes stack needs K8S_MLSERVE_DATA_DIR"
    frame = pd.read_csv(Path(data_dir) / "diabetes.csv")[FEATURES]
    sample = frame.sample(n=ROWS, replace=True, random_state=7).reset_index(drop=True)
    sample[SHIFTED] = sample[SHIFTED] + SHIFT
    return [{str(k): v for k, v in row.items()} for row in sample.to_dict(orient="records")]


@pytest.fixture(scope="module")
def shifted_traffic(stack: DeployedStack, shifted_rows: list[dict[str, Any]]) -> int:
    """The shifted rows, sent through the port-forwarded API; returns how many were answered."""
    answered = 0
    for start in range(0, len(shifted_rows), BATCH):
        batch = shifted_rows[start : start + BATCH]
        answer = stack.client.post("/predict", json={"instances": batch}, headers=stack.headers())
        assert answer.status_code == 200, answer.text
        answered += len(answer.json()["predictions"])
    return answered


def test_drift_endpoint_shows_the_shifted_feature(
    stack: DeployedStack, shifted_traffic: int
) -> None:
    assert shifted_traffic == ROWS
    assert stack.client.get("/drift").status_code == 401
    answer = stack.client.get("/drift", headers=stack.monitoring_headers())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["window_size"] >= ROWS, report["message"]
    # One feature of eight moved: below the dataset-drift share, but that feature is named.
    assert report["drifted_features"] == [SHIFTED], report["message"]
    assert not report["dataset_drift"], report["message"]
    (glucose,) = [f for f in report["features"] if f["name"] == SHIFTED]
    assert glucose["drifted"], glucose


def test_the_drift_check_job_fails_with_exit_code_1_naming_the_feature(
    stack: DeployedStack, shifted_traffic: int
) -> None:
    assert shifted_traffic == ROWS
    (cronjob,) = [m["metadata"]["name"] for m in stack.objects("CronJob")]
    job = f"drift-check-now-{secrets.token_hex(2)}"
    stack.kubectl("create", "job", f"--from=cronjob/{cronjob}", job)
    finished = wait_for_job_end(stack.cluster, job, stack.namespace, timeout=300)
    assert job_condition(finished) == "Failed", finished.get("status")
    codes = exit_codes(stack.cluster, job, stack.namespace)
    assert codes, stack.diagnostics()
    assert set(codes) == {1}, f"exit codes {codes}\n{stack.diagnostics()}"
    log = stack.kubectl("logs", f"job/{job}")
    # The report's one verdict heads the log (docs/drift.md): some features drift, not the dataset.
    verdicts = [line for line in log.splitlines() if line.startswith("verdict:")]
    assert verdicts, log
    assert "FEATURE DRIFT" in verdicts[0], log
    assert f"features drift: {SHIFTED}" in verdicts[0], log
