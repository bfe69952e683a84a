"""Prometheus metrics as /metrics shows them after a known sequence of requests."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from k8s_mlserve.errors import ModelSourceError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROW, ROWS, FakeSource
from .conftest import ClientFactory, key, monitoring

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: InProcessApp) -> Samples:
    """Every sample of /metrics by (name, labels)."""
    response = client.get("/metrics", headers=monitoring())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def by_labels(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of one metric, by their labels."""
    return {labels: count for (sample, labels), count in samples.items() if sample == name}


def requests(samples: Samples, route: str, method: str = "POST", status: str = "200") -> float:
    labels = {"route": route, "method": method, "status": status}
    return value(samples, "mlserve_http_requests_total", **labels)


def v2_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": name, "shape": [len(rows)], "datatype": kind, "data": [r[name] for r in rows]}
            for name, kind in (("x", "FP64"), ("count", "INT64"), ("colour", "BYTES"))
        ]
    }


def label_data(answer: dict[str, Any]) -> list[Any]:
    return next(t["data"] for t in answer["outputs"] if t["name"] == "label")


def test_requests_predictions_and_model_calls_are_counted(client: InProcessApp) -> None:
    labels: list[Any] = []
    for row in ROWS[:2]:  # two single rows
        labels.append(client.post("/predict", json=row, headers=key()).json()["label"])
    answer = client.post("/predict", json={"instances": ROWS[:3]}, headers=key()).json()
    labels += [r["label"] for r in answer["predictions"]]
    for route, rows in (
        (f"/v2/models/{MODEL_NAME}/infer", ROWS[:2]),
        (f"/v2/models/{MODEL_NAME}/versions/v1/infer", ROWS[:1]),
    ):
        labels += label_data(client.post(route, json=v2_body(rows), headers=key()).json())
    v1 = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ROWS}, headers=key())
    labels += v1.json()["predictions"]
    assert len(labels) == 12  # 2 + 3 + 2 + 1 + 4 rows in 6 requests

    samples = scrape(client)
    assert requests(samples, "/predict") == 3
    assert requests(samples, "/v2/models/{name}/infer") == 1
    assert requests(samples, "/v2/models/{name}/versions/{version}/infer") == 1
    assert requests(samples, "/v1/models/{name}:predict") == 1
    assert value(samples, "mlserve_http_request_duration_seconds_count", route="/predict") == 3

    predicted = {
        dict(labels)["label"]: count
        for labels, count in by_labels(samples, "mlserve_predictions_total").items()
    }
    assert predicted == Counter(str(label) for label in labels)
    assert sum(predicted.values()) == 12

    # Sequential requests: one model call each (the warm-up call is not a request's).
    assert value(samples, "mlserve_batch_rows_sum") == 12
    assert value(samples, "mlserve_batch_rows_count") == 6


def test_refused_requests_are_counted_by_status_and_predict_nothing(client: InProcessApp) -> None:
    bad = {**ROW, "colour": "purple"}
    assert client.post("/predict", json=bad, headers=key()).status_code == 422
    assert client.post("/predict", json=ROW).status_code == 401
    assert client.get("/nowhere").status_code == 404
    samples = scrape(client)
    assert requests(samples, "/predict", status="422") == 1
    assert requests(samples, "/predict", status="401") == 1
    assert requests(samples, "unmatched", method="GET", status="404") == 1
    assert by_labels(samples, "mlserve_predictions_total") == {}
    assert value(samples, "mlserve_batch_rows_count") == 0


def test_without_a_model_model_loaded_is_0(client_factory: ClientFactory) -> None:
    source = FakeSource(None)
    source.error = ModelSourceError("the registry is down")
    client = client_factory(source, wait=False)
    samples = scrape(client)
    assert value(samples, "mlserve_model_loaded") == 0
    assert by_labels(samples, "mlserve_model_info") == {}


def test_the_served_model_is_described_and_failed_reloads_counted(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    source = FakeSource(toy_bundle)
    client = client_factory(source)
    described = {
        frozenset(
            {
                ("name", MODEL_NAME),
                ("version", "v1"),
                ("algorithm", "logreg"),
                ("source", "fake source"),
                ("sha256", toy_bundle.metadata.sha256[:12]),
            }
        ): 1.0
    }
    assert re.fullmatch(r"[0-9a-f]{12}", toy_bundle.metadata.sha256[:12])
    samples = scrape(client)
    assert by_labels(samples, "mlserve_model_info") == described
    assert value(samples, "mlserve_model_loaded") == 1
    assert value(samples, "mlserve_model_reload_failures_total") == 0

    source.error = ModelSourceError("the registry is down")
    for _ in range(2):
        assert client.post("/admin/reload", headers=key()).status_code == 409
    samples = scrape(client)
    assert value(samples, "mlserve_model_reload_failures_total") == 2
    assert by_labels(samples, "mlserve_model_info") == described
    assert value(samples, "mlserve_model_loaded") == 1
