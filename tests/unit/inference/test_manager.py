"""The model manager: the one entry into the core (validate, predict, observe) and the lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest
from sklearn.linear_model import LogisticRegression

from k8s_mlserve.errors import (
    FieldError,
    MLServeError,
    ModelNotLoadedError,
    ModelSourceError,
    NotFoundError,
    RequestTooLargeError,
    ValidationError,
)
from k8s_mlserve.inference.manager import LoadedModel, ModelManager, ReloadStatus
from k8s_mlserve.inference.predictor import Predictions, Row
from k8s_mlserve.model.bundle import Bundle, load_bundle, write_bundle
from k8s_mlserve.settings import Settings

from ..toy_model import MODEL_NAME, ROW, ROWS, FakeSource, toy_frame, write_toy_bundle

T = TypeVar("T")
SETTINGS = Settings.model_validate({"server": {"max_instances": 5}})


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Bundle]:
    """The toy model as v1 and v2, and a v3 that no longer takes ``colour``."""
    root = tmp_path_factory.mktemp("bundles")
    frame, target = toy_frame()
    narrow = frame[["x", "count"]]
    model = LogisticRegression().fit(narrow, target)
    return {
        "v1": load_bundle(write_toy_bundle(root / "v1", "v1")),
        "v2": load_bundle(write_toy_bundle(root / "v2", "v2")),
        "v3": load_bundle(write_bundle(root / "v3", model, narrow, name=MODEL_NAME, version="v3")),
    }


class Served:
    """A manager that has loaded v1, on an event loop of its own that each test runs again."""

    def __init__(self, manager: ModelManager, loop: asyncio.AbstractEventLoop) -> None:
        self.manager = manager
        self.loop = loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)


@pytest.fixture(scope="module")
def served(bundles: dict[str, Bundle]) -> Iterator[Served]:
    """One manager for the tests that only predict and resolve (a model load costs 0.1 s)."""
    loop = asyncio.new_event_loop()
    manager = ModelManager([FakeSource(bundles["v1"])], SETTINGS)
    try:
        loop.run_until_complete(manager.initial_load())
        yield Served(manager, loop)
    finally:
        loop.run_until_complete(manager.close())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def run(test: Callable[[ModelManager], Awaitable[T]], *sources: FakeSource) -> T:
    """Run ``test`` with a manager over ``sources`` that has done its initial load."""

    async def main() -> T:
        manager = ModelManager(sources, SETTINGS, retry_initial=0.001)
        await manager.initial_load()
        try:
            return await test(manager)
        finally:
            await manager.close()

    return asyncio.run(main())


def test_a_manager_needs_a_source() -> None:
    with pytest.raises(MLServeError, match="no model source configured"):
        ModelManager([], SETTINGS)


def test_nothing_is_served_before_the_initial_load(bundles: dict[str, Bundle]) -> None:
    manager = ModelManager([FakeSource(bundles["v1"])], SETTINGS)
    assert manager.current is None
    assert not manager.startup_complete
    with pytest.raises(ModelNotLoadedError, match="the model is still loading"):
        manager.require_model()


def test_the_initial_load_takes_the_first_source_that_works(bundles: dict[str, Bundle]) -> None:
    broken = FakeSource(None, description="broken source")
    broken.error = ModelSourceError("unreachable")
    working = FakeSource(bundles["v1"], description="working source")
    manager = ModelManager([broken, working], SETTINGS)
    swaps: list[LoadedModel] = []
    manager.on_swap.append(swaps.append)  # the initial load is a swap like any other

    async def main() -> None:
        await manager.initial_load()
        await manager.close()

    asyncio.run(main())
    assert manager.current is not None
    assert (manager.current.name, manager.current.version) == (MODEL_NAME, "v1")
    assert manager.current.source == "working source"
    assert swaps == [manager.current]
    assert manager.load_error is None
    assert manager.startup_complete
    assert (broken.loads, working.loads) == (1, 1)


# -- predict ---------------------------------------------------------------------------------


def test_predict_answers_each_row_with_the_served_model(served: Served) -> None:
    answer = served.run(served.manager.predict(ROWS))
    assert answer.model is served.manager.current
    predictions = answer.predictions
    assert len(predictions) == len(ROWS)
    assert predictions.labels == [r["label"] for r in predictions.results]
    assert set(predictions.labels) == {"yes", "no"}
    for result, score in zip(predictions.results, predictions.scores, strict=True):
        assert score == pytest.approx(result["probabilities"]["yes"], abs=1e-6)
        assert result["model_version"] == "v1"


def test_predict_names_every_bad_field_of_every_row(served: Served) -> None:
    rows: list[Any] = [ROW, {**ROW, "colour": "purple"}, {"x": "high", "count": 3}]
    with pytest.raises(ValidationError) as raised:
        served.run(served.manager.predict(rows))
    errors = raised.value.errors
    assert [(e.row, e.field) for e in errors] == [(1, "colour"), (2, "x"), (2, "colour")]
    assert "'purple'" in errors[0].message
    assert errors[1].message == "must be a number, got string 'high'"
    assert errors[2].message.startswith("field required")


def test_predict_refuses_no_rows_and_too_many(served: Served) -> None:
    with pytest.raises(ValidationError) as raised:
        served.run(served.manager.predict([]))
    assert raised.value.errors == [FieldError("instances", "no rows; send at least one")]
    with pytest.raises(RequestTooLargeError) as too_many:
        served.run(served.manager.predict([ROW] * 6))
    assert too_many.value.message == "6 rows exceed the limit of 5 per request"
    assert len(served.run(served.manager.predict([ROW] * 5)).predictions) == 5


def test_observers_see_each_answered_request_and_cannot_fail_it(
    bundles: dict[str, Bundle], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[Sequence[Row], Predictions, LoadedModel]] = []
    batches: list[int] = []

    def broken(rows: Sequence[Row], predictions: Predictions, model: LoadedModel) -> None:
        raise RuntimeError("observer bug")

    def record(rows: Sequence[Row], predictions: Predictions, model: LoadedModel) -> None:
        seen.append((rows, predictions, model))

    async def test(manager: ModelManager) -> None:
        manager.observers += [broken, record]
        manager.on_batch.append(batches.append)
        rows = ROWS[:3]
        answer = await manager.predict(rows)
        [(observed_rows, predictions, model)] = seen
        assert observed_rows is rows
        assert predictions is answer.predictions
        assert model is answer.model is manager.current
        with pytest.raises(ValidationError):
            await manager.predict([{**ROW, "colour": "purple"}])
        await manager.predict([ROW])

    run(test, FakeSource(bundles["v1"]))
    assert len(seen) == 2  # the refused request was not observed
    assert batches == [3, 1]
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [
        "prediction observer failed"
    ] * 2


# -- resolve ---------------------------------------------------------------------------------


def test_resolve_finds_the_served_model_by_name_and_version(served: Served) -> None:
    manager = served.manager
    assert manager.resolve(MODEL_NAME) is manager.current
    assert manager.resolve(MODEL_NAME, "v1") is manager.current
    with pytest.raises(NotFoundError) as other:
        manager.resolve("other")
    assert other.value.message == (
        f"model 'other' is not served here; this server serves '{MODEL_NAME}'"
    )
    with pytest.raises(NotFoundError) as version:
        manager.resolve(MODEL_NAME, "v9")
    assert version.value.message == (
        f"version 'v9' of model '{MODEL_NAME}' is not served; the served version is 'v1'"
    )


# -- reload ----------------------------------------------------------------------------------


class Recorder:
    """Collects what the manager's callbacks are told."""

    def __init__(self, manager: ModelManager) -> None:
        self.swaps: list[LoadedModel] = []
        self.reloads: list[ReloadStatus] = []
        manager.on_swap.append(self.swaps.append)
        manager.on_reload.append(self.reloads.append)


def test_reload_of_the_served_version_loads_nothing(bundles: dict[str, Bundle]) -> None:
    source = FakeSource(bundles["v1"])

    async def test(manager: ModelManager) -> None:
        served = manager.current
        calls = Recorder(manager)
        status = await manager.reload()
        assert (status.ok, status.message) == (True, "already serving version v1")
        assert manager.current is served
        assert calls.swaps == []
        assert calls.reloads == [status]
        assert manager.last_reload is status

    run(test, source)
    assert source.loads == 1


def test_reload_swaps_in_a_new_version(bundles: dict[str, Bundle]) -> None:
    source = FakeSource(bundles["v1"])

    async def test(manager: ModelManager) -> None:
        calls = Recorder(manager)
        source.bundle = bundles["v2"]
        status = await manager.reload(reason="test")
        assert (status.ok, status.message) == (True, "now serving version v2")
        assert manager.current is not None
        assert manager.current.version == "v2"
        assert calls.swaps == [manager.current]
        assert calls.reloads == [status]
        answer = await manager.predict([ROW])
        assert answer.model.version == "v2"
        assert answer.predictions.results[0]["model_version"] == "v2"

    run(test, source)


def test_an_incompatible_version_is_refused_and_the_served_one_kept(
    bundles: dict[str, Bundle],
) -> None:
    source = FakeSource(bundles["v1"])

    async def test(manager: ModelManager) -> None:
        served = manager.current
        calls = Recorder(manager)
        source.bundle = bundles["v3"]
        status = await manager.reload()
        assert not status.ok
        assert status.message == (
            "fake source: version v3 is incompatible: features differ: missing ['colour'], "
            "unexpected []"
        )
        assert manager.current is served
        assert calls.swaps == []
        assert calls.reloads == [status]
        assert manager.reload_failures == 1
        assert (await manager.predict([ROW])).model.version == "v1"

    run(test, source)


def test_a_failing_source_keeps_the_served_model(bundles: dict[str, Bundle]) -> None:
    source = FakeSource(bundles["v1"])

    async def test(manager: ModelManager) -> None:
        source.error = ModelSourceError("the registry is down")
        status = await manager.reload()
        assert (status.ok, status.message) == (False, "fake source: the registry is down")
        assert manager.current is not None
        assert manager.current.version == "v1"
        assert manager.last_reload is status
        assert manager.reload_failures == 1

    run(test, source)


async def started(manager: ModelManager) -> None:
    while not manager.startup_complete:
        await asyncio.sleep(0.001)


def test_a_reload_can_bring_the_first_model(bundles: dict[str, Bundle]) -> None:
    source = FakeSource(None)
    source.error = ModelSourceError("the registry is down")

    async def main() -> None:
        manager = ModelManager([source], SETTINGS, retry_initial=3600)
        loading = asyncio.create_task(manager.initial_load())
        try:
            # The first attempt fails, then the next one waits for an hour.
            await asyncio.wait_for(started(manager), timeout=10)
            assert manager.current is None
            with pytest.raises(ModelNotLoadedError) as raised:
                await manager.predict([ROW])
            assert str(raised.value) == "fake source: the registry is down"  # the load error
            source.error, source.bundle = None, bundles["v1"]
            status = await manager.reload()
            assert (status.ok, status.message) == (True, "now serving version v1")
            assert manager.load_error is None
            assert (await manager.predict([ROW])).model.version == "v1"
        finally:
            loading.cancel()
            await manager.close()

    asyncio.run(main())


def test_the_initial_load_stops_once_a_reload_served_a_model(bundles: dict[str, Bundle]) -> None:
    source = FakeSource(None)
    source.error = ModelSourceError("the registry is down")

    async def main() -> None:
        manager = ModelManager([source], SETTINGS, retry_initial=0.001)
        calls = Recorder(manager)
        loading = asyncio.create_task(manager.initial_load())
        try:
            await asyncio.wait_for(started(manager), timeout=10)
            source.error, source.bundle = None, bundles["v1"]
            await manager.reload()
            # Whichever of the two loaded the model, the other sees it served: no second copy.
            await asyncio.wait_for(loading, timeout=10)
            loads = source.loads
            assert len(calls.swaps) == 1
            assert (await manager.reload()).message == "already serving version v1"
            assert source.loads == loads
            assert manager.current is calls.swaps[0]
            assert not manager.current.batcher.closed
        finally:
            loading.cancel()
            await manager.close()

    asyncio.run(main())


def test_a_request_for_a_model_replaced_meanwhile_is_asked_again_not_failed(
    bundles: dict[str, Bundle],
) -> None:
    source = FakeSource(bundles["v1"])

    async def test(manager: ModelManager) -> None:
        old = manager.require_model()
        source.bundle = bundles["v2"]
        await manager.reload()
        for _ in range(3):  # let the replaced model's batcher close
            await asyncio.sleep(0)
        assert old.batcher.closed
        with pytest.raises(ModelNotLoadedError, match="version v1 was replaced"):
            await manager.predict([ROW], model=old)
        assert (await manager.predict([ROW])).model.version == "v2"

    run(test, source)


def test_a_compiled_model_is_timed_at_load_to_place_its_calls(bundles: dict[str, Bundle]) -> None:
    async def placements(settings: Settings) -> LoadedModel:
        manager = ModelManager([FakeSource(bundles["v1"])], settings)
        await manager.initial_load()
        await manager.close()
        assert manager.current is not None
        return manager.current

    timed = asyncio.run(placements(SETTINGS))
    assert timed.predictor.runtime.name == "onnx"
    assert timed.placement.reason.startswith("a call of 64 rows took")
    assert 0 <= timed.placement.inline_rows <= 64

    on_thread = SETTINGS.model_copy(
        update={"batching": SETTINGS.batching.model_copy(update={"inline_rows": 0})}
    )
    placed = asyncio.run(placements(on_thread))
    assert (placed.placement.inline_rows, placed.placement.reason) == (
        0,
        "set by batching.inline_rows",
    )
