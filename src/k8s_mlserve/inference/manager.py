"""The model lifecycle behind a server: initial load, polling, reload and atomic swap.

The manager owns the served model. A request takes a reference to the current model once and is
answered by it, even if a new version is swapped in meanwhile; the old model's batcher finishes
its queue before it is dropped.
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

from ..errors import MLServeError, ModelNotLoadedError, SchemaMismatchError
from ..model.bundle import Bundle
from ..settings import Settings
from ..sources import ModelSource
from .batching import MicroBatcher
from .predictor import Predictor, Result, Row

log = logging.getLogger("k8s_mlserve.inference")

RowOutput = tuple[Result, Any, float | None]
# Called after every answered request: (rows, outputs, model) -> None. Must be cheap.
PredictionObserver = Callable[[Sequence[Row], Sequence[RowOutput], "LoadedModel"], None]


@dataclass
class LoadedModel:
    """A model being served, with its own batcher."""

    predictor: Predictor
    batcher: MicroBatcher[Row, RowOutput]
    source: str
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def version(self) -> str:
        return self.predictor.version


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
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._reload_lock = asyncio.Lock()
        self._closing = False

    # -- loading -------------------------------------------------------------------------------

    async def initial_load(self) -> None:
        """Load from the sources in order; retry with backoff until one works or we close."""
        delay = self._retry_initial
        while not self._closing:
            for source in self.sources:
                try:
                    bundle = await self._in_thread(source.load)
                    model = await self._prepare(bundle, source.description)
                except Exception as exc:  # every source failure is reported, never fatal
                    self.load_error = f"{source.description}: {exc}"
                    log.warning("could not load model from %s: %s", source.description, exc)
                    continue
                self._swap(model)
                self.load_error = None
                self.startup_complete = True
                log.info(
                    "serving %s version %s from %s",
                    model.predictor.name,
                    model.version,
                    model.source,
                )
                return
            self.startup_complete = True
            log.warning("no model could be loaded; retrying in %.0fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

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
                model = await self._prepare(bundle, source.description)
            except Exception as exc:
                errors.append(f"{source.description}: {exc}")
                if isinstance(exc, SchemaMismatchError):
                    break
                continue
            old = self._swap(model)
            self.load_error = None
            self.startup_complete = True
            log.info("reloaded (%s): now serving version %s", reason, model.version)
            if old is not None:
                asyncio.get_running_loop().create_task(old.batcher.close())
            return ReloadStatus(now, True, f"now serving version {model.version}")
        message = "; ".join(errors)
        log.warning("reload (%s) failed, keeping the current model: %s", reason, message)
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
        predictor = Predictor(bundle, risk_labels=self.settings.response.risk_labels)
        await self._in_thread(predictor.warm_up)
        await self._in_thread(_freeze_heap)
        batching = self.settings.batching
        batcher: MicroBatcher[Row, RowOutput] = MicroBatcher(
            _row_outputs(predictor),
            max_batch_size=batching.max_batch_size,
            max_wait_ms=batching.max_wait_ms,
            executor=self.executor,
        )
        return LoadedModel(predictor=predictor, batcher=batcher, source=source)

    def _swap(self, model: LoadedModel) -> LoadedModel | None:
        old, self.current = self.current, model  # one reference assignment: atomic for readers
        for callback in self.on_swap:
            callback(model)
        return old

    async def _in_thread(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    # -- predicting ----------------------------------------------------------------------------

    def require_model(self) -> LoadedModel:
        model = self.current
        if model is None:
            raise ModelNotLoadedError(self.load_error or "the model is still loading")
        return model

    async def predict(self, model: LoadedModel, rows: Sequence[Row]) -> Sequence[RowOutput]:
        """Predict validated rows with ``model`` (batched with concurrent requests)."""
        outputs = await model.batcher.submit(rows)
        for observer in self.observers:
            try:
                observer(rows, outputs, model)
            except Exception:  # observers never fail a prediction
                log.exception("prediction observer failed")
        return outputs

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


def _row_outputs(predictor: Predictor) -> Callable[[Sequence[Row]], list[RowOutput]]:
    def run(rows: Sequence[Row]) -> list[RowOutput]:
        out = predictor.predict(rows)
        return list(zip(out.results, out.labels, out.scores, strict=True))

    return run
