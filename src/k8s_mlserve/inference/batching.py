"""Adaptive micro-batching: concurrent requests share one model call.

A request that finds the model idle and nothing queued runs at once. Requests that arrive while a
call is running queue up and go together in the next call, up to ``max_batch_size`` rows (a
request is never split: one larger than that is a call of its own); such a batch may also wait for
more company until its oldest request has waited ``max_wait_ms``. Results go back to each request
in order; if a call that combined several requests fails, each of them is retried alone so that
only the faulty one fails (a request that was alone in its call is not run twice).

The batch function's output must be sliceable by rows (``outputs[start:end]``), like a list or
``Predictions``. ``on_call`` is told the number of rows of every successful model call. Calls of
at most ``inline_rows`` rows run on the event loop itself, larger ones on the executor: for a
model that answers in microseconds the hop to a thread costs more than the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

_S = TypeVar("_S", bound="Sliceable")


class Sliceable(Protocol):
    """Outputs of a batch, one per row, that can be cut into runs of rows."""

    def __len__(self) -> int: ...

    def __getitem__(self: _S, rows: slice, /) -> _S: ...


RowT = TypeVar("RowT")
OutT = TypeVar("OutT", bound=Sliceable)

# A batch function takes rows and returns their outputs, one per row, in the same order.
BatchFn = Callable[[Sequence[RowT]], OutT]


@dataclass
class _Pending(Generic[RowT, OutT]):
    rows: Sequence[RowT]
    future: asyncio.Future[OutT]
    enqueued: float = field(default_factory=time.perf_counter)


@dataclass
class BatchStats:
    """Counters for observability (read by the metrics endpoint)."""

    calls: int = 0
    rows: int = 0
    requests: int = 0


class MicroBatcher(Generic[RowT, OutT]):
    """Gathers rows from concurrent callers into batched calls of ``fn`` on an executor."""

    def __init__(
        self,
        fn: BatchFn[RowT, OutT],
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        executor: Executor | None = None,
        on_call: Callable[[int], None] | None = None,
        inline_rows: int = 0,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._fn = fn
        self._max_rows = max_batch_size
        self._max_wait = max_wait_ms / 1000.0
        self._executor = executor
        self._on_call = on_call
        self._inline_rows = inline_rows
        self._queue: asyncio.Queue[_Pending[RowT, OutT] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._held: _Pending[RowT, OutT] | None = None
        self._last_call_end = float("-inf")
        self._closed = False
        self.stats = BatchStats()

    @property
    def closed(self) -> bool:
        """True once ``close`` was called: ``submit`` refuses new rows."""
        return self._closed

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, rows: Sequence[RowT]) -> OutT:
        """Queue ``rows`` and wait for their outputs."""
        if self._closed:
            raise RuntimeError("batcher is closed")
        self.start()
        future: asyncio.Future[OutT] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(rows, future))
        return await future

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        closing = False
        while True:
            first, self._held = self._held, None
            if first is None:
                if closing:
                    return
                item = await self._queue.get()
                if item is None:
                    return
                first = item
            batch = [first]
            rows = len(first.rows)
            if not closing:
                rows, closing = self._drain(batch, rows)
            # Only a request that queued behind a running call waits for company: one that found
            # the model idle is answered at once.
            queued_behind = first.enqueued < self._last_call_end
            if (
                queued_behind
                and not closing
                and self._held is None
                and self._max_wait > 0
                and rows < self._max_rows
            ):
                closing = await self._wait_for_company(batch, rows)
            try:
                await self._call(batch, loop)
            finally:
                self._last_call_end = time.perf_counter()

    def _add(self, batch: list[_Pending[RowT, OutT]], item: _Pending[RowT, OutT], rows: int) -> int:
        """Add ``item`` if it fits; otherwise hold it for the next batch. Returns the rows."""
        if rows + len(item.rows) > self._max_rows:
            self._held = item
            return rows
        batch.append(item)
        return rows + len(item.rows)

    def _drain(self, batch: list[_Pending[RowT, OutT]], rows: int) -> tuple[int, bool]:
        """Move already-queued requests into ``batch``; True when the close marker was seen."""
        while rows < self._max_rows and self._held is None and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                return rows, True
            rows = self._add(batch, item, rows)
        return rows, False

    async def _wait_for_company(self, batch: list[_Pending[RowT, OutT]], rows: int) -> bool:
        """Wait for more requests until the batch is full or its oldest row waited long enough."""
        deadline = batch[0].enqueued + self._max_wait
        while rows < self._max_rows and self._held is None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            try:
                item = await asyncio.wait_for(self._queue.get(), remaining)
            except TimeoutError:
                break
            if item is None:
                return True
            rows = self._add(batch, item, rows)
        return False

    async def _call(
        self, batch: list[_Pending[RowT, OutT]], loop: asyncio.AbstractEventLoop
    ) -> None:
        live = [p for p in batch if not p.future.cancelled()]
        if len(live) == 1:
            await self._call_alone(live[0], loop)
        elif live:
            await self._call_together(live, loop)

    async def _call_together(
        self, live: list[_Pending[RowT, OutT]], loop: asyncio.AbstractEventLoop
    ) -> None:
        combined = [row for p in live for row in p.rows]
        try:
            outputs = await self._run_fn(combined, loop)
        except Exception:
            # One bad request must not fail its neighbours: each one is tried alone.
            for pending in live:
                await self._call_alone(pending, loop)
            return
        self._count(len(combined), len(live))
        start = 0
        for pending in live:
            end = start + len(pending.rows)
            if not pending.future.done():
                pending.future.set_result(outputs[start:end])
            start = end

    async def _call_alone(
        self, pending: _Pending[RowT, OutT], loop: asyncio.AbstractEventLoop
    ) -> None:
        try:
            outputs = await self._run_fn(pending.rows, loop)
        except Exception as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        self._count(len(pending.rows), 1)
        if not pending.future.done():
            pending.future.set_result(outputs)

    async def _run_fn(self, rows: Sequence[RowT], loop: asyncio.AbstractEventLoop) -> OutT:
        """Call the batch function: on the event loop for up to ``inline_rows`` rows (a call
        cheaper than the hop to a thread and back), else on the executor."""
        if len(rows) <= self._inline_rows:
            return self._fn(rows)
        return await loop.run_in_executor(self._executor, self._fn, rows)

    def _count(self, rows: int, requests: int) -> None:
        self.stats.calls += 1
        self.stats.rows += rows
        self.stats.requests += requests
        if self._on_call is not None:
            self._on_call(rows)
