"""``/shadow``, the ``mlserve_shadow_*`` series and the request log's shadow lines, in process."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from k8s_mlserve.inference.comparison import compare_results
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.model.bundle import Bundle, load_bundle
from k8s_mlserve.server import create_app
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import ROWS, FakeSource, write_toy_challenger
from .conftest import key, make_settings, monitoring

REPORT_KEYS = {
    "enabled",
    "champion",
    "challenger",
    "challenger_error",
    "sample_rate",
    "queue_size",
    "rows_scored",
    "rows_dropped",
    "errors",
    "agreement",
    "mean_abs_delta",
    "max_abs_delta",
    "labels",
    "latency_seconds",
    "since",
}


@pytest.fixture(scope="module")
def challenger_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(write_toy_challenger(tmp_path_factory.mktemp("challenger") / "c1"))


class Failing:
    """The challenger's estimator, answering the warm-up and then failing every call."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.calls = 0

    def predict_proba(self, frame: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("the challenger broke")
        return self.model.predict_proba(frame)


@pytest.fixture
def apps() -> Iterator[list[InProcessApp]]:
    started: list[InProcessApp] = []
    yield started
    for app in started:
        app.__exit__(None, None, None)


def start(
    apps: list[InProcessApp],
    champion: Bundle,
    challenger: Bundle | None,
    **sections: dict[str, Any],
) -> InProcessApp:
    settings = make_settings(**sections)
    source = FakeSource(challenger) if challenger is not None else None
    app = InProcessApp(create_app(settings, sources=[FakeSource(champion)], challenger=source))
    app.__enter__()
    apps.append(app)
    app.wait_until_ready()
    return app


def report(app: InProcessApp) -> dict[str, Any]:
    response = app.get("/shadow", headers=monitoring())
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert set(body) == REPORT_KEYS
    return body


def wait_until(
    app: InProcessApp, holds: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The first ``/shadow`` report for which ``holds``; a generous deadline, the report decides."""
    for _ in range(2000):
        body = report(app)
        if holds(body):
            return body
        time.sleep(0.01)
    raise AssertionError(f"{what} never happened: {body}")


def wait_for_report(app: InProcessApp, rows: int, field: str = "rows_scored") -> dict[str, Any]:
    return wait_until(app, lambda body: body[field] >= rows, f"{field} reaching {rows}")


def wait_for_challenger(app: InProcessApp) -> None:
    """The challenger loads after the champion: requests answered before it are not sampled."""
    wait_until(app, lambda body: body["challenger"] is not None, "the challenger loading")


def samples(app: InProcessApp) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = app.get("/metrics", headers=monitoring()).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_without_a_challenger_the_report_is_off_and_nothing_is_registered(
    apps: list[InProcessApp], toy_bundle: Bundle
) -> None:
    app = start(apps, toy_bundle, None)
    assert app.get("/shadow").status_code == 401
    body = report(app)
    assert body["enabled"] is False
    assert body["champion"] == {"name": "toy-model", "version": "v1"}
    assert (body["challenger"], body["challenger_error"]) == (None, None)
    assert (body["sample_rate"], body["queue_size"]) == (0.0, 0)
    assert (body["rows_scored"], body["rows_dropped"], body["errors"]) == (0, 0, 0)
    assert (body["agreement"], body["mean_abs_delta"], body["max_abs_delta"]) == (None,) * 3
    assert body["labels"] == {}
    assert body["latency_seconds"] == {"mean": None, "p50": None, "p99": None}
    assert body["since"].endswith("+00:00")
    assert not [name for name, _ in samples(app) if name.startswith("mlserve_shadow")]


def test_the_challenger_scores_answered_requests(
    apps: list[InProcessApp], toy_bundle: Bundle, challenger_bundle: Bundle, tmp_path: Path
) -> None:
    app = start(
        apps,
        toy_bundle,
        challenger_bundle,
        shadow={"sample_rate": 1.0, "queue_size": 50, "model": "c1-reference"},
        request_log={"dir": str(tmp_path)},
    )
    wait_for_challenger(app)
    ids = []
    for row in ROWS:
        response = app.post("/predict", json=row, headers=key())
        assert response.status_code == 200
        ids.append(response.headers["x-request-id"])
    assert app.post("/predict", json={"instances": ROWS}, headers=key()).status_code == 200
    body = wait_for_report(app, 2 * len(ROWS))

    champion = Predictor(toy_bundle).predict(ROWS).results
    challenger = Predictor(challenger_bundle).predict(ROWS).results
    expected = compare_results(champion, challenger) * 2
    deltas = [row.abs_delta or 0.0 for row in expected]
    assert body["enabled"] is True
    assert body["champion"] == {"name": "toy-model", "version": "v1"}
    assert body["challenger"] == {"name": "toy-challenger", "version": "c1", "uri": "c1-reference"}
    assert body["challenger_error"] is None
    assert (body["sample_rate"], body["queue_size"]) == (1.0, 50)
    assert (body["rows_scored"], body["rows_dropped"], body["errors"]) == (8, 0, 0)
    agreements = sum(r.agree for r in expected)
    assert 0 < agreements < 8  # the challenger answers some rows otherwise
    assert body["agreement"] == pytest.approx(agreements / 8, abs=1e-12)
    assert body["mean_abs_delta"] == pytest.approx(sum(deltas) / 8, abs=1e-12)
    assert body["max_abs_delta"] == pytest.approx(max(deltas), abs=1e-12)
    table: dict[str, dict[str, int]] = {}
    for compared in expected:
        mine, theirs = str(compared.champion_label), str(compared.challenger_label)
        table.setdefault(mine, {})[theirs] = table.get(mine, {}).get(theirs, 0) + 1
    assert body["labels"] == table
    assert body["latency_seconds"]["mean"] > 0
    assert body["latency_seconds"]["p50"] <= body["latency_seconds"]["p99"]

    series = samples(app)
    rows = "mlserve_shadow_rows_total"
    assert series[(rows, (("outcome", "scored"),))] == 8
    assert series[(rows, (("outcome", "dropped"),))] == 0
    assert series[(rows, (("outcome", "error"),))] == 0
    assert series[("mlserve_shadow_agreements_total", ())] == agreements
    assert series[("mlserve_shadow_abs_delta_count", ())] == 8
    assert series[("mlserve_shadow_latency_seconds_count", ())] == 5
    labels = "mlserve_shadow_labels_total"
    assert {
        (dict(key)["champion"], dict(key)["challenger"]): value
        for (name, key), value in series.items()
        if name == labels
    } == {(mine, theirs): n for mine, column in table.items() for theirs, n in column.items()}
    info = (
        ("challenger", "c1-reference"),
        ("challenger_version", "c1"),
        ("champion_version", "v1"),
    )
    assert series[("mlserve_shadow_info", info)] == 1

    lines = []
    for path in tmp_path.iterdir():
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    shadow = [line for line in lines if line.get("type") == "shadow"]
    assert len(shadow) == 5
    assert {line["request_id"] for line in shadow} >= set(ids)
    first = next(line for line in shadow if line["request_id"] == ids[3])
    assert first["champion"]["version"] == "v1"
    assert first["champion"]["predictions"] == [champion[3]]
    assert first["challenger"] == {
        "name": "toy-challenger",
        "version": "c1",
        "predictions": [challenger[3]],
    }
    assert len([line for line in lines if "features" in line]) == 8  # the rows' own lines


def test_a_failing_challenger_counts_errors_and_the_champion_answers(
    apps: list[InProcessApp], toy_bundle: Bundle, challenger_bundle: Bundle
) -> None:
    failing = dataclasses.replace(
        challenger_bundle, model=Failing(challenger_bundle.unpickled().model)
    )
    app = start(
        apps, toy_bundle, failing, shadow={"sample_rate": 1.0}, model={"runtime": "sklearn"}
    )
    wait_for_challenger(app)
    for row in ROWS:
        assert app.post("/predict", json=row, headers=key()).status_code == 200
    body = wait_for_report(app, len(ROWS), "errors")
    assert (body["rows_scored"], body["errors"], body["agreement"]) == (0, len(ROWS), None)
    assert samples(app)[("mlserve_shadow_rows_total", (("outcome", "error"),))] == len(ROWS)


def test_a_challenger_with_another_schema_is_refused_and_the_champion_serves(
    apps: list[InProcessApp], toy_bundle: Bundle, challenger_bundle: Bundle
) -> None:
    schema = challenger_bundle.metadata.input_schema
    other = schema.model_copy(update={"features": list(reversed(schema.features))})
    refused = dataclasses.replace(
        challenger_bundle,
        metadata=challenger_bundle.metadata.model_copy(update={"input_schema": other}),
    )
    app = start(apps, toy_bundle, refused, shadow={"sample_rate": 1.0})
    body = wait_until(app, lambda body: bool(body["challenger_error"]), "the refusal")
    assert body["challenger"] is None
    assert "cannot score the requests of champion version v1" in body["challenger_error"]
    assert "features are in a different order" in body["challenger_error"]
    assert app.get("/ready").status_code == 200
    assert app.post("/predict", json=ROWS[0], headers=key()).status_code == 200
    assert report(app)["rows_scored"] == 0
