"""The shadow scorer: the challenger loaded beside the champion, sampled requests scored on a
thread of its own, compared, dropped when the queue is full, failures counted, resets."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression

from k8s_mlserve.inference.comparison import compare_results
from k8s_mlserve.inference.manager import ModelManager
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.inference.sampler import Sampler
from k8s_mlserve.inference.shadow import ShadowScorer
from k8s_mlserve.model.bundle import Bundle, load_bundle, write_bundle
from k8s_mlserve.settings import Settings

from ..toy_model import (
    MODEL_NAME,
    ROWS,
    FakeSource,
    toy_frame,
    write_toy_bundle,
    write_toy_challenger,
)

SETTINGS = Settings.model_validate(
    {"model": {"runtime": "sklearn", "poll_interval": 3600}, "shadow": {"sample_rate": 1.0}}
)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Bundle]:
    """The toy champion (v1, v2), a challenger (c1), and one that does not take ``colour``."""
    root = tmp_path_factory.mktemp("bundles")
    frame, target = toy_frame()
    narrow = frame[["x", "count"]]
    return {
        "v1": load_bundle(write_toy_bundle(root / "v1", "v1")),
        "v2": load_bundle(write_toy_bundle(root / "v2", "v2")),
        "c1": load_bundle(write_toy_challenger(root / "c1")),
        "narrow": load_bundle(
            write_bundle(
                root / "narrow",
                LogisticRegression().fit(narrow, target),
                narrow,
                name=MODEL_NAME,
                version="n1",
            )
        ),
    }


class Misbehaving:
    """Wraps a fitted model: answers the first call (the warm-up), then fails or waits."""

    def __init__(self, model: Any, *, fail: bool = False) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.fail = fail
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    def _misbehave(self) -> None:
        self.calls += 1
        if self.calls == 1:
            return
        if self.fail:
            raise RuntimeError("the challenger broke")
        self.entered.set()
        self.release.wait(30)

    def predict_proba(self, frame: Any) -> Any:
        self._misbehave()
        return self.model.predict_proba(frame)

    def predict(self, frame: Any) -> Any:
        self._misbehave()
        return self.model.predict(frame)


def misbehaving(bundle: Bundle, **how: bool) -> tuple[Bundle, Misbehaving]:
    model = Misbehaving(bundle.unpickled().model, **how)
    return dataclasses.replace(bundle, model=model), model


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(3000):  # a generous deadline; the condition decides
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Pair:
    """A champion manager and a scorer wired as the server wires them."""

    def __init__(
        self, champion: FakeSource, challenger: FakeSource, settings: Settings = SETTINGS
    ) -> None:
        self.manager = ModelManager([champion], settings)
        self.scorer = ShadowScorer(
            challenger, settings, reference="challenger-ref", retry_initial=0.01, retry_max=0.05
        )
        self.manager.on_swap.append(self.scorer.champion_swapped)
        self.task: asyncio.Task[None] | None = None

    async def start(self, *, wait: bool = True) -> None:
        await self.manager.initial_load()
        self.scorer.start()
        self.task = asyncio.create_task(self.scorer.load_and_poll())
        if wait:
            await until(lambda: self.scorer.challenger is not None, "the challenger")

    async def send(self, rows: list[dict[str, Any]]) -> bool:
        answer = await self.manager.predict(rows)
        return self.scorer.submit(rows, answer.predictions, answer.model, "request-1")

    async def close(self) -> None:
        await self.scorer.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.manager.close()


def run(pair: Pair, scenario: Callable[[Pair], Awaitable[None]]) -> None:
    async def main() -> None:
        try:
            await scenario(pair)
        finally:
            await pair.close()

    asyncio.run(main())


@pytest.fixture
def offline(bundles: dict[str, Bundle]) -> Callable[[list[dict[str, Any]]], Any]:
    """The comparison of v1 and c1 on rows, computed without the scorer."""
    champion = Predictor(bundles["v1"], runtime="sklearn")
    challenger = Predictor(bundles["c1"], runtime="sklearn")
    return lambda rows: compare_results(
        champion.predict(rows).results, challenger.predict(rows).results
    )


def test_sampled_requests_are_scored_and_compared(
    bundles: dict[str, Bundle], offline: Callable[[list[dict[str, Any]]], Any]
) -> None:
    pair = Pair(FakeSource(bundles["v1"]), FakeSource(bundles["c1"]))
    scored: list[Any] = []
    pair.scorer.on_scored.append(scored.append)

    async def scenario(pair: Pair) -> None:
        await pair.start()
        for row in ROWS:
            assert await pair.send([row])
        assert await pair.send(ROWS)
        await until(lambda: pair.scorer.stats.summary().rows_scored == 2 * len(ROWS), "scores")

    run(pair, scenario)
    expected = offline(ROWS) * 2
    summary = pair.scorer.stats.summary()
    agreements = sum(row.agree for row in expected)
    deltas = [row.abs_delta for row in expected]
    assert summary.agreement == pytest.approx(agreements / len(expected), abs=1e-12)
    assert summary.mean_abs_delta == pytest.approx(sum(deltas) / len(deltas), abs=1e-12)
    assert summary.max_abs_delta == pytest.approx(max(deltas), abs=1e-12)
    table: dict[str, dict[str, int]] = {}
    for row in expected:
        column = table.setdefault(str(row.champion_label), {})
        column[str(row.challenger_label)] = column.get(str(row.challenger_label), 0) + 1
    assert summary.labels == table
    assert (summary.rows_dropped, summary.errors) == (0, 0)
    assert [len(score.rows) for score in scored] == [1, 1, 1, 1, 4]
    assert {score.job.request_id for score in scored} == {"request-1"}
    assert 0 < agreements < len(expected)  # the two models differ on some rows


def test_a_failing_challenger_is_counted_never_raised(bundles: dict[str, Bundle]) -> None:
    bundle, model = misbehaving(bundles["c1"], fail=True)
    pair = Pair(FakeSource(bundles["v1"]), FakeSource(bundle))
    failures: list[Exception] = []
    pair.scorer.on_failed.append(lambda job, exc: failures.append(exc))

    async def scenario(pair: Pair) -> None:
        await pair.start()
        for row in ROWS:
            assert await pair.send([row])  # the champion answers every one
        await until(lambda: pair.scorer.stats.summary().errors == len(ROWS), "the errors")

    run(pair, scenario)
    summary = pair.scorer.stats.summary()
    assert (summary.rows_scored, summary.errors, summary.agreement) == (0, len(ROWS), None)
    assert [str(exc) for exc in failures] == ["the challenger broke"] * len(ROWS)
    assert model.calls == 1 + len(ROWS)


def test_a_full_queue_drops_requests(bundles: dict[str, Bundle]) -> None:
    bundle, model = misbehaving(bundles["c1"])
    settings = SETTINGS.model_copy(
        update={"shadow": SETTINGS.shadow.model_copy(update={"queue_size": 1})}
    )
    pair = Pair(FakeSource(bundles["v1"]), FakeSource(bundle), settings)
    dropped: list[int] = []
    pair.scorer.on_dropped.append(dropped.append)

    async def scenario(pair: Pair) -> None:
        await pair.start()
        assert await pair.send([ROWS[0]])
        await asyncio.to_thread(model.entered.wait, 30)  # the worker holds the first request
        assert await pair.send([ROWS[1]])  # waits in the queue
        assert not await pair.send([ROWS[2]])
        assert not await pair.send(ROWS[:3])
        model.release.set()
        await until(lambda: pair.scorer.stats.summary().rows_scored == 2, "the queued request")

    run(pair, scenario)
    summary = pair.scorer.stats.summary()
    assert (summary.rows_scored, summary.rows_dropped, summary.errors) == (2, 4, 0)
    assert dropped == [1, 3]


def test_a_challenger_the_champion_s_rows_do_not_suit_is_refused(
    bundles: dict[str, Bundle],
) -> None:
    source = FakeSource(bundles["narrow"])
    pair = Pair(FakeSource(bundles["v1"]), source)

    async def scenario(pair: Pair) -> None:
        await pair.start(wait=False)
        await until(lambda: pair.scorer.error is not None, "the refusal")
        assert pair.manager.current is not None  # the champion serves on
        assert not await pair.send([ROWS[0]])

    run(pair, scenario)
    assert pair.scorer.challenger is None
    error = pair.scorer.error or ""
    assert "challenger version n1 cannot score the requests of champion version v1" in error
    assert "features differ: missing ['colour']" in error


def test_a_new_version_of_either_model_starts_a_new_comparison(
    bundles: dict[str, Bundle],
) -> None:
    champion, challenger = FakeSource(bundles["v1"]), FakeSource(bundles["c1"])
    pair = Pair(champion, challenger)
    resets: list[None] = []
    pair.scorer.on_reset.append(lambda: resets.append(None))

    async def scenario(pair: Pair) -> None:
        await pair.start()
        before = len(resets)
        assert await pair.send(ROWS)
        await until(lambda: pair.scorer.stats.summary().rows_scored == len(ROWS), "scores")
        champion.bundle = bundles["v2"]
        assert (await pair.manager.reload()).ok
        assert pair.scorer.stats.summary().rows_scored == 0
        assert len(resets) == before + 1
        assert await pair.send(ROWS[:2])
        await until(lambda: pair.scorer.stats.summary().rows_scored == 2, "new scores")
        challenger.bundle = dataclasses.replace(
            bundles["c1"],
            metadata=bundles["c1"].metadata.model_copy(update={"version": "c2"}),
        )
        assert (await pair.scorer.manager.reload()).ok
        assert pair.scorer.stats.summary().rows_scored == 0
        assert len(resets) == before + 2

    run(pair, scenario)
    challenger_model = pair.scorer.challenger
    assert challenger_model is not None
    assert challenger_model.version == "c2"


def test_nothing_is_queued_unsampled_or_before_the_challenger_loads(
    bundles: dict[str, Bundle],
) -> None:
    source = FakeSource(bundles["c1"])
    source.error = RuntimeError("not there yet")
    pair = Pair(FakeSource(bundles["v1"]), source)
    pair.scorer.sampler = Sampler(0.0)

    async def scenario(pair: Pair) -> None:
        await pair.start(wait=False)
        assert not await pair.send([ROWS[0]])  # no challenger yet
        await until(lambda: "not there yet" in (pair.scorer.error or ""), "the load error")
        source.error = None
        await until(lambda: pair.scorer.challenger is not None, "the challenger")
        assert not await pair.send([ROWS[0]])  # sampled out

    run(pair, scenario)
    summary = pair.scorer.stats.summary()
    assert (summary.rows_scored, summary.rows_dropped, summary.errors) == (0, 0, 0)
