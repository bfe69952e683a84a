"""Prometheus metrics, one registry per app (no process-global state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..inference.manager import LoadedModel
from ..inference.predictor import Predictions, Row

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServerMetrics:
    """The server's metrics and the hooks that update them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mlserve_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlserve_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "mlserve_predictions",
            "Predicted rows by label.",
            ["label"],
            registry=self.registry,
        )
        self._by_label: dict[Any, Any] = {}  # label -> its child of ``predictions``
        self.model_info = Gauge(
            "mlserve_model_info",
            "The served model (value 1); sha256 is the model file's digest, to 12 digits.",
            ["name", "version", "algorithm", "source", "sha256"],
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "mlserve_model_loaded", "1 when a model is loaded.", registry=self.registry
        )
        self.reload_failures = Counter(
            "mlserve_model_reload_failures",
            "Failed attempts to load a new model version.",
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "mlserve_batch_rows",
            "Rows per model call.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )

    def observe_predictions(
        self, rows: Sequence[Row], predictions: Predictions, model: LoadedModel
    ) -> None:
        for label in predictions.labels:
            child = self._by_label.get(label)
            if child is None:
                child = self._by_label[label] = self.predictions.labels(label=str(label))
            child.inc()

    def observe_batch(self, rows: int) -> None:
        """One model call of ``rows`` rows (several requests may share it)."""
        self.batch_rows.observe(rows)

    def model_swapped(self, model: LoadedModel) -> None:
        self.model_info.clear()
        meta = model.predictor.metadata
        self.model_info.labels(
            name=meta.name,
            version=meta.version,
            algorithm=meta.algorithm or "",
            source=model.source,
            # A bundle published again under the same version shows as a change too.
            sha256=meta.sha256[:12],
        ).set(1)
        self.model_loaded.set(1)
