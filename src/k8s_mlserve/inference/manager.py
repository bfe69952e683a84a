"""The model manager: the one entry into the inference core, and the model's lifecycle.

``predict(rows)`` is what every protocol calls: it takes the current model once, checks the row
count, validates the rows against that model's schema, batches them with concurrent requests,
calls the model, tells the observers (metrics, drift) and returns an ``Answer``. A request is
answered by the model it started with, even if a new version is swapped in meanwhile; the old
model's batcher finishes its queue before it is dropped.

The lifecycle: initial load (retried with backoff), polling, reload and atomic swap.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import (
    FieldError,
    MLServeError,
    ModelNotLoadedError,
    NotFoundError,
    RequestTooLargeError,
    SchemaMismatchError,
    ValidationError,
)
from ..model.bundle import Bundle
from ..settings import Settings
from ..sources import ModelSource
from .batching import MicroBatcher
from .placement import Placement, choose_placement
from .predictor import Predictions, Predictor, Row

log = logging.getLogger("k8s_mlserve.inference")

# Called after every answered request: (rows, predictions, model) -> None. Must be cheap.
PredictionObserver = Callable[[Sequence[Row], Predictions, "LoadedModel"], None]


@dataclass
class LoadedModel:
    """A model being served, with its own batcher."""

    predictor: Predictor
    batcher: MicroBatcher[Row, Predictions]
    source: str
    placement: Placement = field(default_factory=lambda: Placement(0, "not chosen"))
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def name(self) -> str:
        return self.predictor.name

    @property
    def version(self) -> str:
        return self.predictor.version


@dataclass(frozen=True)
class Answer:
    """The answer to one request: the model that gave it and its predictions, in row order."""

    model: LoadedModel
    predictions: Predictions


@dataclass
class ReloadStatus:
    """The outcome of the latest reload attempt."""

    at: datetime
    ok: bool
    message: str


class ModelManager:
    """Loads the model from the first source that works and keeps it current."""

    def __init__(
        self,
        sources: Sequence[ModelSource],
        settings: Settings,
        executor: Executor | None = None,
        *,
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
        log_prefix: str = "",
    ) -> None:
        if not sources:
            raise MLServeError(
                "no model source configured: set MLSERVE_MODEL__PATH or MLSERVE_MODEL__URI"
            )
        self.sources = list(sources)
        self.settings = settings
        self.executor = executor
        self.current: LoadedModel | None = None
        self.startup_complete = False
        self.load_error: str | None = None
        self.last_reload: ReloadStatus | None = None
        self.reload_failures = 0
        self.observers: list[PredictionObserver] = []
        self.on_swap: list[Callable[[LoadedModel], None]] = []
        self.on_reload: list[Callable[[ReloadStatus], None]] = []
        self.on_batch: list[Callable[[int], None]] = []
        # Called with each loaded bundle before it is prepared; an exception refuses it.
        self.checks: list[Callable[[Bundle], None]] = []
        self._log_prefix = log_prefix
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._reload_lock = asyncio.Lock()
        self._closing = False
        self._last_failure: str | None = None

    # -- loading -------------------------------------------------------------------------------

    async def initial_load(self) -> None:
        """Load from the sources in order; retry with backoff until one works or we close.

        Stops as soon as a model is served, including one that ``reload`` (an admin request)
        brought in while this was waiting to retry.
        """
        delay = self._retry_initial
        while not self._closing:
            async with self._reload_lock:
                if self.current is not None or await self._load_first():
                    self.startup_complete = True
                    return
            self.startup_complete = True
            log.warning("%sno model could be loaded; retrying in %.0fs", self._log_prefix, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _load_first(self) -> bool:
        """Serve the first source that loads; False (with ``load_error`` set) when none does."""
        for source in self.sources:
            try:
                bundle = await self._in_thread(source.load)
                self._check(bundle)
                model = await self._prepare(bundle, source.description)
            except Exception as exc:  # every source failure is reported, never fatal
                self.load_error = f"{source.description}: {exc}"
                log.warning(
                    "%scould not load model from %s: %s", self._log_prefix, source.description, exc
                )
                continue
            self._swap(model)
            self.load_error = None
            log.info(
                "%sserving %s version %s from %s",
                self._log_prefix,
                model.name,
                model.version,
                model.source,
            )
            return True
        return False

    async def reload(self, *, reason: str = "requested") -> ReloadStatus:
        """Load the sources' current version; swap it in if it differs and is compatible."""
        async with self._reload_lock:
            status = await self._reload_locked(reason)
            self.last_reload = status
            if not status.ok:
                self.reload_failures += 1
            for callback in self.on_reload:
                callback(status)
            return status

    async def _reload_locked(self, reason: str) -> ReloadStatus:
        now = datetime.now(UTC)
        errors = []
        for source in self.sources:
            try:
                version = await self._in_thread(source.current_version)
                if self.current is not None and version == self.current.version:
                    return ReloadStatus(now, True, f"already serving version {version}")
                bundle = await self._in_thread(source.load)
                if self.current is not None:
                    reasons = self.current.predictor.schema.incompatibilities(
                        bundle.metadata.input_schema
                    )
                    if reasons:
                        raise SchemaMismatchError(
                            f"version {bundle.metadata.version} is incompatible: "
                            + "; ".join(reasons)
                        )
                self._check(bundle)
                model = await self._prepare(bundle, source.description)
            except Exception as exc:
                errors.append(f"{source.description}: {exc}")
                if isinstance(exc, SchemaMismatchError):
                    break
                continue
            old = self._swap(model)
            self.load_error = None
            self.startup_complete = True
            self._last_failure = None
            log.info(
                "%sreloaded (%s): now serving version %s", self._log_prefix, reason, model.version
            )
            if old is not None:
                asyncio.get_running_loop().create_task(old.batcher.close())
            return ReloadStatus(now, True, f"now serving version {model.version}")
        message = "; ".join(errors)
        # A version that keeps failing the same way is warned about once, not at every poll.
        level = logging.DEBUG if message == self._last_failure else logging.WARNING
        self._last_failure = message
        log.log(
            level,
            "%sreload (%s) failed, keeping the current model: %s",
            self._log_prefix,
            reason,
            message,
        )
        return ReloadStatus(now, False, message)

    async def poll_forever(self) -> None:
        """Check the sources every ``model.poll_interval`` seconds and reload on a change."""
        interval = self.settings.model.poll_interval
        while not self._closing:
            await asyncio.sleep(interval)
            if self.current is None:
                continue
            try:
                await self.reload(reason="poll")
            except Exception:  # the poller must survive anything
                log.exception("polling for a new model version failed")

    async def _prepare(self, bundle: Bundle, source: str) -> LoadedModel:
        predictor = await self._in_thread(
            lambda: Predictor(
                bundle,
                risk_labels=self.settings.response.risk_labels,
                runtime=self.settings.model.runtime,
            )
        )
        if predictor.runtime_reason is not None:
            log.info(
                "version %s runs on scikit-learn: %s",
                bundle.metadata.version,
                predictor.runtime_reason,
            )
        await self._in_thread(predictor.warm_up)
        batching = self.settings.batching
        placement: Placement = await self._in_thread(
            lambda: choose_placement(predictor, batching.inline_rows, batching.max_batch_size)
        )
        log.info(
            "version %s: calls of up to %d rows run on the event loop: %s",
            bundle.metadata.version,
            placement.inline_rows,
            placement.reason,
        )
        await self._in_thread(_freeze_heap)
        batcher: MicroBatcher[Row, Predictions] = MicroBatcher(
            predictor.predict,
            max_batch_size=batching.max_batch_size,
            max_wait_ms=batching.max_wait_ms,
            executor=self.executor,
            on_call=self._batch_done,
            inline_rows=placement.inline_rows,
        )
        return LoadedModel(predictor=predictor, batcher=batcher, source=source, placement=placement)

    def _check(self, bundle: Bundle) -> None:
        for check in self.checks:
            check(bundle)

    def _swap(self, model: LoadedModel) -> LoadedModel | None:
        old, self.current = self.current, model  # one reference assignment: atomic for readers
        for callback in self.on_swap:
            callback(model)
        return old

    async def _in_thread(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    # -- predicting ----------------------------------------------------------------------------

    def require_model(self) -> LoadedModel:
        """The served model; ``ModelNotLoadedError`` (with the last load error) when none is."""
        model = self.current
        if model is None:
            raise ModelNotLoadedError(self.load_error or "the model is still loading")
        return model

    def resolve(self, name: str, version: str | None = None) -> LoadedModel:
        """The served model, if it is the one named (and of that version, when one is given)."""
        model = self.require_model()
        if name != model.name:
            raise NotFoundError(
                f"model {name!r} is not served here; this server serves {model.name!r}"
            )
        if version is not None and version != model.version:
            raise NotFoundError(
                f"version {version!r} of model {name!r} is not served; the served version is "
                f"{model.version!r}"
            )
        return model

    async def predict(self, rows: Sequence[Any], *, model: LoadedModel | None = None) -> Answer:
        """Validate ``rows`` and predict them with ``model`` (default: the served one).

        Raises ``ModelNotLoadedError`` without a model, ``RequestTooLargeError`` over
        ``server.max_instances`` rows, ``ValidationError`` for no rows or rows that do not match
        the schema (every bad field of every row is named).
        """
        if model is None:
            model = self.require_model()
        elif model.batcher.closed:
            raise ModelNotLoadedError(
                f"version {model.version} was replaced while the request was read; send it again"
            )
        if not rows:
            raise ValidationError([FieldError("instances", "no rows; send at least one")])
        limit = self.settings.server.max_instances
        if len(rows) > limit:
            raise RequestTooLargeError(f"{len(rows)} rows exceed the limit of {limit} per request")
        model.predictor.validate(rows)
        predictions = await model.batcher.submit(rows)
        for observer in self.observers:
            try:
                observer(rows, predictions, model)
            except Exception:  # observers never fail a prediction
                log.exception("prediction observer failed")
        return Answer(model, predictions)

    def _batch_done(self, rows: int) -> None:
        for callback in self.on_batch:
            callback(rows)

    async def close(self) -> None:
        self._closing = True
        if self.current is not None:
            await self.current.batcher.close()


def _freeze_heap() -> None:
    """Exempt what is alive after a load (modules, the model) from future garbage collections.

    A full collection walks every tracked object; with scikit-learn and pandas imported that is
    over 100,000 objects and tens of milliseconds during which no request is answered, about once
    a second under load. Frozen objects are still freed by reference counting. The previous
    freeze is undone first so that a replaced model's reference cycles can be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
