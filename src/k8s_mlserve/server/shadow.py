"""Shadow scoring as the server shows it: the ``/shadow`` report, the ``mlserve_shadow_*`` series
and the request log's ``"shadow"`` lines (see docs/shadow.md).

``ShadowMonitor.observe`` is a prediction observer: it leaves the request to the challenger's
queue once the champion's answer is sent (``after_response``). Without ``shadow.model`` there is
no scorer, nothing is loaded or registered, and the report says ``"enabled": false``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..drift.requestlog import RequestLogger
from ..inference.comparison import ComparisonSummary, ShadowStats
from ..inference.manager import LoadedModel, ModelManager
from ..inference.predictor import Predictions, Row
from ..inference.shadow import ShadowJob, ShadowScore, ShadowScorer
from ..settings import Settings
from ..sources import ModelSource, challenger_source
from .after_response import after_response
from .metrics import LATENCY_BUCKETS
from .request_id import current_request_id

DELTA_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
OUTCOMES = ("scored", "dropped", "error")


class ShadowMetrics:
    """The ``mlserve_shadow_*`` series (counters run for the process, across comparisons)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        rows = Counter(
            "mlserve_shadow_rows",
            "Rows sampled for the challenger, by outcome: scored, dropped (queue full) or error.",
            ["outcome"],
            registry=registry,
        )
        self.scored, self.dropped, self.errors = (rows.labels(o) for o in OUTCOMES)
        self.agreements = Counter(
            "mlserve_shadow_agreements",
            "Scored rows where the challenger's label equals the champion's.",
            registry=registry,
        )
        self.abs_delta = Histogram(
            "mlserve_shadow_abs_delta",
            "Per scored row, the largest |champion - challenger| probability over the classes "
            "(|difference| of the predictions for regressors).",
            buckets=DELTA_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            "mlserve_shadow_latency_seconds",
            "Time the challenger took to answer a sampled request.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.labels = Counter(
            "mlserve_shadow_labels",
            "Scored rows by the champion's and the challenger's label (classifiers).",
            ["champion", "challenger"],
            registry=registry,
        )
        self.info = Gauge(
            "mlserve_shadow_info",
            "The models compared (value 1): the versions and the challenger's reference.",
            ["champion_version", "challenger_version", "challenger"],
            registry=registry,
        )

    def scored_request(self, score: ShadowScore, label_table: bool) -> None:
        self.scored.inc(len(score.rows))
        self.latency.observe(score.seconds)
        agreements = 0
        for row in score.rows:
            agreements += row.agree
            if row.abs_delta is not None:
                self.abs_delta.observe(row.abs_delta)
            if label_table:
                self.labels.labels(str(row.champion_label), str(row.challenger_label)).inc()
        if agreements:
            self.agreements.inc(agreements)


class ShadowMonitor:
    """The server's side of shadow scoring: observer, metrics, request log lines, report."""

    def __init__(
        self,
        scorer: ShadowScorer | None,
        registry: CollectorRegistry,
        request_log: RequestLogger | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.scorer = scorer
        self.request_log = request_log
        self._executor = executor
        self.started = datetime.now(UTC)
        self.metrics: ShadowMetrics | None = None
        if scorer is not None:
            self.metrics = ShadowMetrics(registry)
            scorer.on_scored.append(self._scored)
            scorer.on_failed.append(self._failed)
            scorer.on_dropped.append(self._dropped)
            scorer.on_reset.append(self._models_changed)

    @classmethod
    def create(
        cls,
        settings: Settings,
        registry: CollectorRegistry,
        request_log: RequestLogger | None = None,
        challenger: ModelSource | None = None,
    ) -> ShadowMonitor:
        """The monitor of ``challenger`` (default: the source ``shadow.model`` names)."""
        source = challenger if challenger is not None else challenger_source(settings)
        if source is None:
            return cls(None, registry)
        # A thread of its own loads the challenger: the model's threads stay the model's.
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlserve-shadow")
        scorer = ShadowScorer(source, settings, executor, reference=settings.shadow.model)
        return cls(scorer, registry, request_log, executor)

    @property
    def enabled(self) -> bool:
        return self.scorer is not None

    def attach(self, manager: ModelManager) -> None:
        """Follow the champion ``manager`` serves and see its answered requests."""
        if self.scorer is not None:
            manager.on_swap.append(self.scorer.champion_swapped)
            manager.observers.append(self.observe)

    async def run_forever(self) -> None:
        """Start the worker, load the challenger once the champion is, then poll for it."""
        if self.scorer is not None:
            self.scorer.start()
            await self.scorer.load_and_poll()

    async def close(self) -> None:
        if self.scorer is not None:
            await self.scorer.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def observe(self, rows: Sequence[Row], predictions: Predictions, model: LoadedModel) -> None:
        """A prediction observer: the request goes to the challenger once it is answered."""
        scorer = self.scorer
        if scorer is None or scorer.challenger is None:
            return
        request_id = current_request_id.get()
        after_response(lambda: scorer.submit(rows, predictions, model, request_id))

    # -- the scorer's listeners (the worker thread, or the event loop for resets and drops) ---

    def _scored(self, score: ShadowScore) -> None:
        champion, challenger = score.job.champion, score.challenger
        if self.metrics is not None:
            both_classify = (
                champion.predictor.classes is not None and challenger.predictor.classes is not None
            )
            self.metrics.scored_request(score, both_classify)
        if self.request_log is not None:
            self.request_log.log_record(
                {
                    "type": "shadow",
                    "request_id": score.job.request_id,
                    "champion": _side(champion, score.job.predictions),
                    "challenger": _side(challenger, score.predictions),
                    "challenger_seconds": score.seconds,
                }
            )

    def _failed(self, job: ShadowJob, exc: Exception) -> None:
        if self.metrics is not None:
            self.metrics.errors.inc(len(job.rows))

    def _dropped(self, rows: int) -> None:
        if self.metrics is not None:
            self.metrics.dropped.inc(rows)

    def _models_changed(self) -> None:
        if self.metrics is None or self.scorer is None:
            return
        self.metrics.info.clear()
        champion, challenger = self.scorer.champion, self.scorer.challenger
        if champion is not None and challenger is not None:
            self.metrics.info.labels(
                champion.version, challenger.version, self.scorer.reference
            ).set(1)

    # -- the report ----------------------------------------------------------------------------

    def report(self, champion: LoadedModel | None) -> dict[str, Any]:
        """The ``/shadow`` document (see docs/shadow.md for each field)."""
        scorer = self.scorer
        if scorer is None:
            return _report(
                enabled=False,
                champion=champion,
                challenger=None,
                error=None,
                sample_rate=0.0,
                queue_size=0,
                summary=ShadowStats(clock=lambda: self.started).summary(),
            )
        challenger = scorer.challenger
        return _report(
            enabled=True,
            champion=champion,
            challenger=(
                None
                if challenger is None
                else {
                    "name": challenger.name,
                    "version": challenger.version,
                    "uri": scorer.reference,
                }
            ),
            error=scorer.error,
            sample_rate=scorer.sampler.rate,
            queue_size=scorer.queue_size,
            summary=scorer.stats.summary(),
        )


def _report(
    *,
    enabled: bool,
    champion: LoadedModel | None,
    challenger: dict[str, str] | None,
    error: str | None,
    sample_rate: float,
    queue_size: int,
    summary: ComparisonSummary,
) -> dict[str, Any]:
    latency = summary.latency
    return {
        "enabled": enabled,
        "champion": (
            None if champion is None else {"name": champion.name, "version": champion.version}
        ),
        "challenger": challenger,
        "challenger_error": error,
        "sample_rate": sample_rate,
        "queue_size": queue_size,
        "rows_scored": summary.rows_scored,
        "rows_dropped": summary.rows_dropped,
        "errors": summary.errors,
        "agreement": summary.agreement,
        "mean_abs_delta": summary.mean_abs_delta,
        "max_abs_delta": summary.max_abs_delta,
        "labels": summary.labels,
        "latency_seconds": {"mean": latency.mean, "p50": latency.p50, "p99": latency.p99},
        "since": summary.since.isoformat(),
    }


def _side(model: LoadedModel, predictions: Predictions) -> dict[str, Any]:
    return {"name": model.name, "version": model.version, "predictions": predictions.results}
