"""``create_app(settings)``: the Starlette application and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.middleware import Middleware

from ..inference.manager import ModelManager, ReloadStatus
from ..settings import Settings
from ..sources import ModelSource, build_sources
from . import probes, routes, v1, v2
from .auth import KeyChecker
from .drift import DriftMonitor
from .edge import Edge, ServingApp, route
from .metrics import ServerMetrics
from .shadow import ShadowMonitor
from .state import ServerState

log = logging.getLogger("k8s_mlserve.server")


def create_app(
    settings: Settings,
    *,
    sources: Sequence[ModelSource] | None = None,
    challenger: ModelSource | None = None,
) -> Starlette:
    """Build the ASGI app serving the model the settings point at.

    The model is loaded in the background once the app starts, so probes answer during the load:
    ``/startup`` turns 200 when the first attempt has finished, ``/ready`` when a model is served.
    With ``shadow.model`` (or a ``challenger`` source) a challenger is loaded beside the model and
    shadow-scores a share of the requests (docs/shadow.md).
    Each of the settings' ``unknown_names`` is logged as a warning first.
    """
    for unknown in settings.unknown_names:
        log.warning("%s", unknown)
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlserve-model")
    manager = ModelManager(
        sources if sources is not None else build_sources(settings), settings, executor
    )
    metrics = ServerMetrics()
    drift = DriftMonitor(settings, metrics.registry)
    shadow = ShadowMonitor.create(settings, metrics.registry, drift.request_log, challenger)
    state = ServerState(
        settings=settings,
        manager=manager,
        api_keys=KeyChecker(settings.auth.api_keys),
        monitoring=KeyChecker(
            [settings.auth.monitoring_token] if settings.auth.monitoring_token else []
        ),
        metrics=metrics,
        drift=drift,
        shadow=shadow,
    )
    manager.observers.append(metrics.observe_predictions)
    manager.on_batch.append(metrics.observe_batch)
    manager.on_swap.append(metrics.model_swapped)
    manager.observers.append(drift.observe)
    manager.on_swap.append(drift.model_swapped)
    shadow.attach(manager)

    def count_failure(status: ReloadStatus) -> None:
        if not status.ok:
            metrics.reload_failures.inc()

    manager.on_reload.append(count_failure)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not state.api_keys.enabled:
            log.warning("!!! %s", routes.AUTH_OFF_WARNING)
        tasks = [
            asyncio.create_task(manager.initial_load(), name="initial-load"),
            asyncio.create_task(manager.poll_forever(), name="poll"),
            asyncio.create_task(drift.run_forever(), name="drift"),
        ]
        if shadow.enabled:
            tasks.append(asyncio.create_task(shadow.run_forever(), name="shadow"))
        try:
            yield
        finally:
            state.begin_shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await manager.close()
            await shadow.close()
            executor.shutdown(wait=False, cancel_futures=True)

    route_list = [
        route("/predict", routes.predict, "POST"),
        route("/", routes.info, "GET"),
        route("/version", routes.version, "GET"),
        route("/health", probes.health, "GET"),
        route("/ready", probes.ready, "GET"),
        route("/startup", probes.startup, "GET"),
        route("/metrics", routes.metrics, "GET"),
        route("/drift", routes.drift, "GET"),
        route("/shadow", routes.shadow, "GET"),
        route("/openapi.json", routes.openapi, "GET"),
        route("/docs", routes.docs, "GET"),
        route("/docs/static/{name}", routes.docs_asset, "GET"),
        route("/admin/reload", routes.reload, "POST"),
        *v2.routes(),
        *v1.routes(),
    ]
    templates = {route.endpoint: route.path for route in route_list}
    app = ServingApp(
        routes=route_list,
        middleware=[Middleware(Edge, routes=templates, state=state)],
        lifespan=lifespan,
    )
    app.state.mlserve = state
    return app
