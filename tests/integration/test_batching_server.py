"""Micro-batching in a real server: concurrent requests share model calls, answers do not change."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve.testing import ServerProcess
from k8s_mlserve.training.examples import diabetes

pytestmark = pytest.mark.integration

INTEGER_COLUMNS = {"Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "Age"}
FEATURES = diabetes.FEATURES


@pytest.fixture(scope="module")
def rows(data_dir: Path) -> list[dict[str, Any]]:
    """48 real patients from the dataset."""
    with (data_dir / "diabetes.csv").open(newline="") as handle:
        records = list(csv.DictReader(handle))[:48]
    return [
        {name: int(r[name]) if name in INTEGER_COLUMNS else float(r[name]) for name in FEATURES}
        for r in records
    ]


@pytest.fixture(scope="module")
def server(registries: dict[str, Path]) -> Iterator[ServerProcess]:
    """Requests queued behind a running call wait up to 50 ms for company: batching is certain."""
    env = {
        "MLSERVE_MODEL__PATH": str(registries["diabetes"]),
        "MLSERVE_BATCHING__MAX_WAIT_MS": "50",
        "MLSERVE_BATCHING__MAX_BATCH_SIZE": "64",
    }
    with ServerProcess(env) as process:
        yield process


@pytest.fixture(scope="module")
def sequential(server: ServerProcess, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers to the rows sent one at a time, each on an idle server."""
    answers = []
    for row in rows:
        response = server.client.post("/predict", json=row)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


async def burst(url: str, requests: list[tuple[str, Any]]) -> list[httpx.Response]:
    """Send every request at once, each on its own connection."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        return list(
            await asyncio.gather(*(client.post(path, json=body) for path, body in requests))
        )


def batch_rows_histogram(server: ServerProcess) -> tuple[float, float]:
    """(model calls, rows those calls predicted) from the rows-per-call histogram of /metrics."""
    calls = rows = 0.0
    for line in server.client.get("/metrics").text.splitlines():
        if line.startswith("mlserve_batch_rows_count"):
            calls = float(line.split()[-1])
        elif line.startswith("mlserve_batch_rows_sum"):
            rows = float(line.split()[-1])
    return calls, rows


def v2_body(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": "patient", "shape": [1, 8], "datatype": "FP64", "data": list(row.values())}
        ]
    }


def test_concurrent_requests_answer_like_sequential_ones(
    server: ServerProcess, rows: list[dict[str, Any]], sequential: list[dict[str, Any]]
) -> None:
    calls_before, rows_before = batch_rows_histogram(server)

    responses = asyncio.run(burst(server.url, [("/predict", row) for row in rows]))

    assert [r.status_code for r in responses] == [200] * len(rows)
    assert [r.json() for r in responses] == sequential
    calls_after, rows_after = batch_rows_histogram(server)
    # The histogram has one sample per model call, and the calls predicted every row once...
    assert rows_after - rows_before == len(rows)
    # ...in fewer calls than requests: requests shared model calls.
    assert 0 < calls_after - calls_before < len(rows)


def test_every_protocol_shares_the_batches_and_keeps_its_answers(
    server: ServerProcess, rows: list[dict[str, Any]], sequential: list[dict[str, Any]]
) -> None:
    requests: list[tuple[str, Any]] = []
    for i, row in enumerate(rows):
        if i % 3 == 0:
            requests.append(("/predict", row))
        elif i % 3 == 1:
            requests.append(("/v1/models/diabetes-model:predict", {"instances": [row]}))
        else:
            requests.append(("/v2/models/diabetes-model/infer", v2_body(row)))

    responses = asyncio.run(burst(server.url, requests))

    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        body = response.json()
        if i % 3 == 0:
            assert body == sequential[i]
        elif i % 3 == 1:
            assert body == {"predictions": [sequential[i]["label"]]}
        else:
            outputs = {o["name"]: o["data"] for o in body["outputs"]}
            assert outputs["label"] == [sequential[i]["label"]]
            assert outputs["probability"] == [sequential[i]["probability"]]


def test_a_bad_row_in_a_concurrent_burst_fails_only_its_own_request(
    server: ServerProcess, rows: list[dict[str, Any]], sequential: list[dict[str, Any]]
) -> None:
    requests: list[tuple[str, Any]] = [("/predict", row) for row in rows]
    bad = {
        5: ("/predict", {**rows[5], "Glucose": "abc"}),
        17: ("/predict", {"instances": [rows[17], {**rows[17], "BMI": None}]}),
        29: ("/v1/models/diabetes-model:predict", {"instances": [list(rows[29].values())[:7]]}),
        41: (
            "/v2/models/diabetes-model/infer",
            {"inputs": [{**v2_body(rows[41])["inputs"][0], "datatype": "BYTES"}]},
        ),
    }
    for index, request in bad.items():
        requests[index] = request

    responses = asyncio.run(burst(server.url, requests))

    statuses = {i: r.status_code for i, r in enumerate(responses) if r.status_code != 200}
    assert statuses == {5: 422, 17: 422, 29: 400, 41: 400}
    assert responses[5].json()["error"]["details"][0]["field"] == "Glucose"
    assert responses[17].json()["error"]["details"][0] == {
        "field": "BMI",
        "message": "must be a number, got null",
        "row": 1,
    }
    assert "has 7 values" in responses[29].json()["error"]
    assert "BYTES" in responses[41].json()["error"]
    for i, response in enumerate(responses):
        if i not in bad:
            assert response.json() == sequential[i]


def test_an_idle_server_answers_a_lone_request_without_waiting(
    registries: dict[str, Path], rows: list[dict[str, Any]]
) -> None:
    """With a minute of max_wait_ms, lone requests still come back at once (10 s timeout)."""
    env = {
        "MLSERVE_MODEL__PATH": str(registries["diabetes"]),
        "MLSERVE_BATCHING__MAX_WAIT_MS": "60000",
    }
    with ServerProcess(env) as patient:
        for row in rows[:5]:
            response = patient.client.post("/predict", json=row, timeout=10.0)
            assert response.status_code == 200, response.text
        response = patient.client.post(
            "/v2/models/diabetes-model/infer", json=v2_body(rows[5]), timeout=10.0
        )
        assert response.status_code == 200, response.text
        response = patient.client.post("/predict", json={"instances": rows[6:10]}, timeout=10.0)
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == 4
