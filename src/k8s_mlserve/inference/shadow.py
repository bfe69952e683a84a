"""Shadow scoring: a challenger also answers a sampled share of the champion's requests.

The challenger has a ``ModelManager`` of its own over its source, so it is loaded, cached,
checked (sha256, library versions), warmed up and polled for new versions like the champion, with
one more check: the champion's validated rows must suit it (same features, kinds and levels; see
``InputSchema.incompatibilities``). A challenger refused so, or that fails to load, is reported
(``error``); the champion is unaffected.

``submit`` (called once the champion has answered) samples the request and queues it; one worker
thread scores queued requests with the challenger and compares the answers (``comparison``). A
full queue drops the request and a challenger exception fails it: both are counted, neither
reaches the client. A new version of either model starts a new comparison: the statistics reset,
and requests queued for the old one are discarded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from ..errors import ModelNotLoadedError, SchemaMismatchError
from ..model.bundle import Bundle
from ..settings import Settings
from ..sources import ModelSource
from .comparison import RowComparison, ShadowStats, compare_results
from .manager import LoadedModel, ModelManager
from .predictor import Predictions, Row
from .sampler import Sampler

log = logging.getLogger("k8s_mlserve.inference")

_REPORT_EVERY = 100  # challenger failures are logged at the first and then every hundredth


@dataclass(frozen=True)
class ShadowJob:
    """A request the champion answered, queued for the challenger."""

    rows: Sequence[Row]
    champion: LoadedModel
    predictions: Predictions
    request_id: str | None
    generation: int


@dataclass(frozen=True)
class ShadowScore:
    """A queued request the challenger answered, compared with the champion's answer."""

    job: ShadowJob
    challenger: LoadedModel
    predictions: Predictions
    rows: list[RowComparison]
    seconds: float


class ShadowScorer:
    """Loads the challenger beside the champion and scores sampled requests with it."""

    def __init__(
        self,
        source: ModelSource,
        settings: Settings,
        executor: Executor | None = None,
        *,
        reference: str | None = None,
        sampler: Sampler | None = None,
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
    ) -> None:
        self.reference = reference or source.description
        self.settings = settings.shadow
        self.sampler = sampler or Sampler(settings.shadow.sample_rate)
        self.queue_size = settings.shadow.queue_size
        self.manager = ModelManager(
            [source],
            settings,
            executor,
            retry_initial=retry_initial,
            retry_max=retry_max,
            log_prefix="challenger: ",
        )
        self.manager.checks.append(self._check_schema)
        self.manager.on_swap.append(self._challenger_swapped)
        self.stats = ShadowStats()
        self.champion: LoadedModel | None = None
        self.refusal: str | None = None
        self._champion_loaded = asyncio.Event()
        self.on_scored: list[Callable[[ShadowScore], None]] = []
        self.on_failed: list[Callable[[ShadowJob, Exception], None]] = []
        self.on_dropped: list[Callable[[int], None]] = []
        self.on_reset: list[Callable[[], None]] = []
        self._queue: deque[ShadowJob] = deque()
        self._ready = threading.Condition()
        self._closing = False
        self._failures = 0
        self._thread = threading.Thread(target=self._work, name="mlserve-shadow", daemon=True)

    # -- the two models ------------------------------------------------------------------------

    @property
    def challenger(self) -> LoadedModel | None:
        """The challenger scoring requests: None when not loaded or refused."""
        return None if self.refusal is not None else self.manager.current

    @property
    def error(self) -> str | None:
        """Why the challenger does not score, or why its latest new version was not loaded."""
        if self.refusal is not None:
            return self.refusal
        if self.manager.current is None:
            return self.manager.load_error
        last = self.manager.last_reload
        return last.message if last is not None and not last.ok else None

    def champion_swapped(self, model: LoadedModel) -> None:
        """A champion observer: compare the challenger with this one from now on."""
        self.champion = model
        self._champion_loaded.set()
        challenger = self.manager.current
        self.refusal = None
        if challenger is not None:
            reasons = model.predictor.schema.incompatibilities(challenger.predictor.schema)
            if reasons:
                self.refusal = _refusal(challenger.version, model.version, reasons)
                log.warning("challenger: %s", self.refusal)
        self._reset()

    def _challenger_swapped(self, model: LoadedModel) -> None:
        self.refusal = None
        self._reset()

    def _check_schema(self, bundle: Bundle) -> None:
        champion = self.champion
        if champion is None:
            raise ModelNotLoadedError("the champion is not loaded yet")
        reasons = champion.predictor.schema.incompatibilities(bundle.metadata.input_schema)
        if reasons:
            raise SchemaMismatchError(_refusal(bundle.metadata.version, champion.version, reasons))

    def _reset(self) -> None:
        self.stats.reset()
        with self._ready:
            self._queue.clear()
        for callback in self.on_reset:
            callback()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (the challenger loads through ``load_and_poll``)."""
        self._thread.start()

    async def load_and_poll(self) -> None:
        """Once the champion is loaded, load the challenger (retrying until it loads), then poll
        for its new versions."""
        await self._champion_loaded.wait()
        await self.manager.initial_load()
        await self.manager.poll_forever()

    async def close(self) -> None:
        """Stop the worker (queued requests are discarded) and release the challenger."""
        with self._ready:
            self._closing = True
            self._queue.clear()
            self._ready.notify_all()
        await self.manager.close()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, 5.0)

    # -- scoring -------------------------------------------------------------------------------

    def submit(
        self,
        rows: Sequence[Row],
        predictions: Predictions,
        champion: LoadedModel,
        request_id: str | None = None,
    ) -> bool:
        """Queue an answered request if sampled; True when queued. Never raises, never waits."""
        if champion is not self.champion or self.challenger is None or not self.sampler():
            return False
        job = ShadowJob(rows, champion, predictions, request_id, self.stats.generation)
        with self._ready:
            if self._closing:
                return False
            if len(self._queue) >= self.queue_size:
                dropped = True
            else:
                dropped = False
                self._queue.append(job)
                self._ready.notify()
        if dropped:
            self.stats.dropped(len(rows))
            for callback in self.on_dropped:
                callback(len(rows))
        return not dropped

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if self._closing:
                    return
                job = self._queue.popleft()
            try:
                self._score(job)
            except Exception:  # the worker outlives any listener's failure
                log.exception("challenger: scoring a request failed")

    def _score(self, job: ShadowJob) -> None:
        challenger = self.challenger
        if challenger is None or job.generation != self.stats.generation:
            return  # queued for a comparison that has ended
        started = time.perf_counter()
        try:
            predictions = challenger.predictor.predict(job.rows)
        except Exception as exc:  # a failing challenger is counted, never raised
            if self.stats.failed(len(job.rows), generation=job.generation):
                self._failures += 1
                if self._failures == 1 or self._failures % _REPORT_EVERY == 0:
                    log.warning(
                        "challenger: version %s failed (%d so far): %s",
                        challenger.version,
                        self._failures,
                        exc,
                    )
                for failed in self.on_failed:
                    failed(job, exc)
            return
        seconds = time.perf_counter() - started
        champion_classes = job.champion.predictor.classes
        challenger_classes = challenger.predictor.classes
        rows = compare_results(
            job.predictions.results,
            predictions.results,
            regression=champion_classes is None and challenger_classes is None,
        )
        counted = self.stats.record(
            rows,
            seconds,
            generation=job.generation,
            label_table=champion_classes is not None and challenger_classes is not None,
        )
        if counted:
            score = ShadowScore(job, challenger, predictions, rows, seconds)
            for callback in self.on_scored:
                callback(score)


def _refusal(challenger: str, champion: str, reasons: Sequence[str]) -> str:
    return (
        f"challenger version {challenger} cannot score the requests of champion version "
        f"{champion}: " + "; ".join(reasons)
    )
