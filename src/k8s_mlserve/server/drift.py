"""Online drift: the window every prediction feeds, the request log and the gauges.

Each replica keeps its own window of recent validated rows. The statistics run off the event loop,
every ``drift.interval`` seconds for the Prometheus gauges and whenever ``/drift`` is asked for.
A new model version brings its own reference, so the window starts over when one is swapped in.
The reference is read when a version is swapped in; the detector (pandas, SciPy) is built by the
first computation, so a server that never computes drift never imports them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge

from ..drift.histograms import FeatureHistogram, feature_histograms
from ..drift.reference import ReferenceProfile, load_reference
from ..drift.requestlog import RequestLogger
from ..drift.window import DriftWindow, WindowSnapshot
from ..errors import MLServeError, NotFoundError
from ..inference.manager import LoadedModel
from ..inference.predictor import Predictions, Row
from ..settings import Settings

if TYPE_CHECKING:  # the detector brings pandas and SciPy: built by the first computation
    from ..drift.detector import DriftDetector, DriftReport

log = logging.getLogger("k8s_mlserve.server")


class DriftHistograms(NamedTuple):
    """A drift report and the histograms of the same window."""

    report: DriftReport
    histograms: list[FeatureHistogram]


class DriftMonitor:
    """Feeds the window and the request log from predictions; computes reports and gauges."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self.settings = settings.drift
        self.window = DriftWindow(settings.drift.window_size)
        log_settings = settings.request_log
        self.request_log = (
            RequestLogger(log_settings.dir, log_settings.max_bytes, log_settings.backups)
            if log_settings.dir is not None
            else None
        )
        self.model_version: str | None = None
        self._reference: ReferenceProfile | None = None
        self._detector: DriftDetector | None = None
        self._unavailable = "no model loaded yet"
        self._log_errors_seen = 0
        self._feature_psi = Gauge(
            "mlserve_drift_feature_psi",
            "PSI of each feature between the reference and the window.",
            ["feature"],
            registry=registry,
        )
        self._feature_p_value = Gauge(
            "mlserve_drift_feature_p_value",
            "Adjusted p-value of each feature's drift test.",
            ["feature"],
            registry=registry,
        )
        self._feature_drift = Gauge(
            "mlserve_drift_feature_drifted",
            "1 when the feature drifts.",
            ["feature"],
            registry=registry,
        )
        self._dataset_drift = Gauge(
            "mlserve_drift_dataset_drifted",
            "1 when the dataset drifts (enough features drift).",
            registry=registry,
        )
        self._drift_share = Gauge(
            "mlserve_drift_share", "Share of the features that drift.", registry=registry
        )
        self._prediction_drift = Gauge(
            "mlserve_drift_prediction_drifted",
            "1 when the predicted labels or scores drift.",
            registry=registry,
        )
        self._window_rows = Gauge(
            "mlserve_drift_window_rows", "Rows in the drift window.", registry=registry
        )
        self._log_errors = Counter(
            "mlserve_request_log_errors",
            "Request log writes that failed (the predictions were answered).",
            registry=registry,
        )

    @property
    def available(self) -> bool:
        return self._reference is not None

    def observe(self, rows: Sequence[Row], predictions: Predictions, model: LoadedModel) -> None:
        """A prediction observer: cheap appends only."""
        labels, scores = predictions.labels, predictions.scores
        # Rows answered by a model being replaced do not belong to the new reference's window.
        if self.settings.enabled and model.version == self.model_version:
            self.window.extend(rows, labels, scores)
        if self.request_log is not None:
            self.request_log.log(rows, labels, scores, model.version)
            errors = self.request_log.errors
            if errors > self._log_errors_seen:
                self._log_errors.inc(errors - self._log_errors_seen)
                self._log_errors_seen = errors

    def model_swapped(self, model: LoadedModel) -> None:
        """Use the new version's reference and start a new window."""
        self.model_version = model.version
        self.window.clear()
        self._clear_gauges()
        self._detector = None
        try:
            self._reference = load_reference(model.predictor.bundle.reference_path)
        except MLServeError as exc:
            self._reference = None
            self._unavailable = str(exc)
            log.warning("drift detection off for version %s: %s", model.version, exc)

    def compute(self) -> DriftReport:
        """Compare the window with the reference and update the gauges (blocking)."""
        return self._compare(self._require_reference(), self.window.snapshot())

    def compute_with_histograms(self) -> DriftHistograms:
        """``compute``, plus each feature's histograms, from one snapshot of the window."""
        reference = self._require_reference()
        snapshot = self.window.snapshot()
        report = self._compare(reference, snapshot)
        return DriftHistograms(report, feature_histograms(reference, snapshot.rows))

    def _require_reference(self) -> ReferenceProfile:
        if self._reference is None:
            raise NotFoundError(f"drift detection is unavailable: {self._unavailable}")
        return self._reference

    def _compare(self, reference: ReferenceProfile, snapshot: WindowSnapshot) -> DriftReport:
        detector = self._detector
        if detector is None or detector.reference is not reference:
            from ..drift.detector import DriftDetector

            detector = self._detector = DriftDetector(reference, self.settings)
        report = detector.compare(snapshot.rows, snapshot.labels or None, snapshot.scores or None)
        self._publish(report)
        return report

    async def run_forever(self) -> None:
        """Refresh the gauges every ``drift.interval`` seconds; close the log when cancelled."""
        try:
            while True:
                await asyncio.sleep(self.settings.interval)
                if self.settings.enabled and self._reference is not None:
                    try:
                        await asyncio.to_thread(self.compute)
                    except Exception:  # a failed refresh is logged; the next one may work
                        log.exception("drift computation failed")
        finally:
            if self.request_log is not None:
                self.request_log.close()

    def _publish(self, report: DriftReport) -> None:
        self._window_rows.set(report.window_size)
        self._dataset_drift.set(1 if report.dataset_drift else 0)
        self._drift_share.set(report.drift_share)
        self._prediction_drift.set(
            1 if report.prediction is not None and report.prediction.drifted else 0
        )
        if not report.features:
            self._feature_psi.clear()
            self._feature_p_value.clear()
            self._feature_drift.clear()
        for feature in report.features:
            self._feature_psi.labels(feature.name).set(_number(feature.psi))
            self._feature_p_value.labels(feature.name).set(_number(feature.adjusted_p_value))
            self._feature_drift.labels(feature.name).set(1 if feature.drifted else 0)

    def _clear_gauges(self) -> None:
        for gauge in (self._feature_psi, self._feature_p_value, self._feature_drift):
            gauge.clear()
        for single in (self._dataset_drift, self._drift_share, self._prediction_drift):
            single.set(0)
        self._window_rows.set(0)


def _number(value: float | None) -> float:
    return math.nan if value is None else value
