"""MicroBatcher: concurrent requests share model calls without changing any answer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from k8s_mlserve.inference.batching import MicroBatcher


class SlowSquare:
    """A model stand-in: squares each row, records every call, takes ``delay`` seconds."""

    def __init__(self, delay: float = 0.005) -> None:
        self.delay = delay
        self.calls: list[list[int]] = []

    def __call__(self, rows: Sequence[int]) -> list[int]:
        self.calls.append(list(rows))
        if any(r < 0 for r in rows):
            raise ValueError(f"negative row in {list(rows)}")
        time.sleep(self.delay)
        return [r * r for r in rows]


REQUESTS: list[list[int]] = [[i] if i % 5 else [i, i + 1, i + 2] for i in range(60)]


def test_concurrent_requests_get_the_same_answers_as_sequential_ones() -> None:
    async def sequential() -> list[list[int]]:
        batcher = MicroBatcher(SlowSquare(), max_batch_size=16, max_wait_ms=1)
        answers = [await batcher.submit(rows) for rows in REQUESTS]
        await batcher.close()
        return answers

    model = SlowSquare()

    async def concurrent() -> list[list[int]]:
        batcher = MicroBatcher(model, max_batch_size=16, max_wait_ms=1)
        answers = await asyncio.gather(*(batcher.submit(rows) for rows in REQUESTS))
        await batcher.close()
        return list(answers)

    expected = asyncio.run(sequential())
    assert expected == [[r * r for r in rows] for rows in REQUESTS]
    assert asyncio.run(concurrent()) == expected
    # The burst really was batched, and no call went over the limit.
    assert len(model.calls) < len(REQUESTS)
    assert max(len(c) for c in model.calls) <= 16
    assert sorted(r for call in model.calls for r in call) == sorted(
        r for rows in REQUESTS for r in rows
    )


def test_a_request_is_never_split_across_calls() -> None:
    model = SlowSquare()

    async def burst() -> None:
        batcher = MicroBatcher(model, max_batch_size=4, max_wait_ms=1)
        await asyncio.gather(*(batcher.submit([i, i, i]) for i in range(10)))
        await batcher.close()

    asyncio.run(burst())
    for call in model.calls:
        assert len(call) % 3 == 0
        assert all(call[i] == call[i + 1] == call[i + 2] for i in range(0, len(call), 3))


def test_a_bad_row_in_a_burst_fails_only_its_own_request() -> None:
    model = SlowSquare()
    requests = [[i] for i in range(1, 30)]
    requests[13] = [7, -1]

    async def burst() -> list[Sequence[int] | BaseException]:
        batcher = MicroBatcher(model, max_batch_size=64, max_wait_ms=5)
        answers = await asyncio.gather(
            *(batcher.submit(rows) for rows in requests), return_exceptions=True
        )
        await batcher.close()
        return list(answers)

    answers = asyncio.run(burst())
    failed = [i for i, a in enumerate(answers) if isinstance(a, BaseException)]
    assert failed == [13]
    error = answers[13]
    assert isinstance(error, ValueError)
    assert "negative row" in str(error)
    for i, answer in enumerate(answers):
        if i != 13:
            assert answer == [r * r for r in requests[i]]
    # The faulty request was shared with others first, then retried alone.
    assert any(len(c) > 2 and -1 in c for c in model.calls)
    assert [7, -1] in model.calls


def test_an_idle_batcher_answers_a_lone_request_at_once() -> None:
    """With an hour of max_wait_ms, a lone request must still come back without waiting."""
    model = SlowSquare()

    async def lone_requests() -> list[Sequence[int]]:
        batcher = MicroBatcher(model, max_batch_size=4, max_wait_ms=3_600_000)
        first = await asyncio.wait_for(batcher.submit([3]), timeout=10)
        # A burst of two-row requests: every call serves two requests and is full, so none
        # waits for company...
        burst = await asyncio.wait_for(
            asyncio.gather(*(batcher.submit([i, i]) for i in range(10))), timeout=10
        )
        assert list(burst) == [[i * i, i * i] for i in range(10)]
        assert all(len(call) == 4 for call in model.calls[1:])
        await asyncio.sleep(0.05)
        # ...and once the model is idle again, a lone request does not wait for company either.
        second = await asyncio.wait_for(batcher.submit([4]), timeout=10)
        await batcher.close()
        return [first, second]

    assert asyncio.run(lone_requests()) == [[9], [16]]
    assert model.calls[0] == [3]
    assert model.calls[-1] == [4]


def test_requests_queued_behind_a_call_wait_for_company() -> None:
    """A request queued behind a running call waits (up to max_wait_ms) to share the next call."""
    release = threading.Event()
    calls: list[list[int]] = []

    def blocking(rows: Sequence[int]) -> list[int]:
        calls.append(list(rows))
        if rows == [0]:
            release.wait(10)
        return [r + 100 for r in rows]

    async def scenario() -> list[Sequence[int]]:
        batcher = MicroBatcher(blocking, max_batch_size=2, max_wait_ms=30_000)
        first = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)  # the first call is running, blocked
        second = asyncio.ensure_future(batcher.submit([1]))
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.sleep(0.2)  # the first call is over; [1] is waiting for company
        assert not second.done()
        third = asyncio.ensure_future(batcher.submit([2]))
        answers = await asyncio.wait_for(asyncio.gather(first, second, third), timeout=10)
        await batcher.close()
        return list(answers)

    assert asyncio.run(scenario()) == [[100], [101], [102]]
    assert calls == [[0], [1, 2]]


def test_close_answers_what_is_queued_then_refuses_more() -> None:
    model = SlowSquare()

    async def scenario() -> list[Sequence[int]]:
        batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=1)
        pending = [asyncio.ensure_future(batcher.submit([i])) for i in range(20)]
        await asyncio.sleep(0)
        await batcher.close()
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.submit([1])
        return list(await asyncio.gather(*pending))

    assert asyncio.run(scenario()) == [[i * i] for i in range(20)]


def test_max_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MicroBatcher(SlowSquare(), max_batch_size=0)


def test_a_lone_request_whose_call_fails_is_not_run_twice() -> None:
    model = SlowSquare(delay=0)

    async def run() -> None:
        batcher = MicroBatcher(model, max_batch_size=8, max_wait_ms=0)
        with pytest.raises(ValueError, match="negative row"):
            await batcher.submit([-1])
        await batcher.close()

    asyncio.run(run())
    assert model.calls == [[-1]]


def test_on_call_hears_each_model_call_once_with_its_rows() -> None:
    model = SlowSquare(delay=0.01)
    heard: list[int] = []

    async def run() -> None:
        batcher = MicroBatcher(model, max_batch_size=64, max_wait_ms=5, on_call=heard.append)
        await asyncio.gather(*(batcher.submit(rows) for rows in REQUESTS))
        await batcher.close()

    asyncio.run(run())
    # One report per successful call (not per request), each with that call's row count.
    assert heard == [len(call) for call in model.calls]
    assert sum(heard) == sum(len(rows) for rows in REQUESTS)
    assert len(heard) < len(REQUESTS)


def test_small_calls_run_on_the_event_loop_and_large_ones_on_the_executor() -> None:
    threads: dict[int, str] = {}

    def square(rows: Sequence[int]) -> list[int]:
        threads[len(rows)] = threading.current_thread().name
        if any(r < 0 for r in rows):
            raise ValueError("negative")
        return [r * r for r in rows]

    async def run() -> tuple[list[int], list[int], str]:
        batcher = MicroBatcher(square, inline_rows=2)
        small = await batcher.submit([1, 2])
        large = await batcher.submit([1, 2, 3])
        with pytest.raises(ValueError, match="negative"):
            await batcher.submit([-1])  # an inline failure fails only its own request
        await batcher.close()
        return small, large, threading.current_thread().name

    small, large, loop_thread = asyncio.run(run())
    assert (small, large) == ([1, 4], [1, 4, 9])
    assert threads[2] == loop_thread
    assert threads[3] != loop_thread
