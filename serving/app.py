"""`create_app(settings)`: the estimates API, status page, health and metrics, with hot reload.

The model is loaded in `lifespan`, off the event loop; a background thread asks the registry
every `reload_interval_seconds` whether the champion moved and swaps a new one in without a pause.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from forecasting.settings import Settings
from serving import errors, pages, planner_page, routes
from serving.fastpath import ESTIMATE_PATH, EstimateFastPath
from serving.holder import ModelHolder
from serving.http import BodyLimit, EdgeHeaders
from serving.loading import ModelCache, ModelSource, RegistrySource
from serving.lookup import EstimateTable
from serving.metrics import Metrics, MetricsMiddleware

if TYPE_CHECKING:
    from forecasting.whatif import PlanningBaseline

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Forward-looking processing-time estimates: when a file submitted on a given day is likely "
    "to be completed, at the 50th, 80th and 90th percentiles, with the model's measured accuracy."
)


def create_app(
    settings: Settings | None = None,
    *,
    table: EstimateTable | None = None,
    source: ModelSource | None = None,
    planning: PlanningBaseline | None = None,
) -> FastAPI:
    """The app. `table` serves a precomputed table without a registry (tests, benchmarks), with
    `planning` for the what-ifs; `source` replaces the MLflow registry (tests)."""
    settings = settings or Settings()
    if table is None:
        holder = ModelHolder(
            source or RegistrySource(settings),
            ModelCache(settings.model_cache_dir, settings.model_name),
        )
    else:
        holder = ModelHolder(source, None)
        holder.provide(table, planning)
    metrics = Metrics(holder)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if table is None:
            await _first_load(holder, settings.registry_timeout_seconds)
        stop = threading.Event()
        if holder.source is not None and settings.reload_interval_seconds > 0:
            _start_polling(holder, settings.reload_interval_seconds, stop)
        try:
            yield
        finally:
            stop.set()

    app = FastAPI(
        title="delai",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    errors.install(app)
    app.include_router(routes.v1)
    app.include_router(routes.health)
    app.include_router(routes.admin)
    app.include_router(routes.scenarios)
    if settings.bench_routes:
        app.include_router(routes.bench)
    app.include_router(pages.router)
    app.include_router(planner_page.router)
    # Added inside out: the last one added sees the request first.
    # The what-if routes and the planner form take a few kB; the estimate batch takes more.
    scenario_paths = (
        *(r.path for r in routes.scenarios.routes if hasattr(r, "path")),
        *planner_page.PATHS.values(),
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        per_path=dict.fromkeys(scenario_paths, settings.scenario_max_body_bytes),
    )
    app.add_middleware(
        EstimateFastPath,
        holder=holder,
        max_age=settings.cache_max_age_seconds,
        route=next(r for r in routes.v1.routes if getattr(r, "path", "") == ESTIMATE_PATH),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Accept-Language", "Content-Type", "If-None-Match"],
            expose_headers=["ETag"],
            max_age=600,
        )
    app.add_middleware(EdgeHeaders, https_only=settings.environment == "production")
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


async def _first_load(holder: ModelHolder, timeout: float) -> None:
    """Load in a daemon thread; past `timeout`, serve the local copy while the registry answers.

    A registry that does not answer (MLflow retries for minutes) must not keep /healthz down;
    if it answers later, its champion replaces the local copy.
    """
    loader = threading.Thread(target=holder.start, name="delai-first-load", daemon=True)
    loader.start()
    await asyncio.to_thread(loader.join, timeout)
    if loader.is_alive():
        reason = f"the registry did not answer within {timeout:g} s (still trying)"
        await asyncio.to_thread(holder.fall_back, reason)


def _start_polling(holder: ModelHolder, interval: float, stop: threading.Event) -> None:
    """Ask the registry for a new champion every `interval` seconds, in a daemon thread
    (a hung registry call then never holds up the event loop or the shutdown)."""

    def run() -> None:
        while not stop.wait(interval):
            try:
                holder.poll()
            except Exception:  # the poller must outlive any one failed attempt
                logger.exception("model poll failed")

    threading.Thread(target=run, name="delai-model-poll", daemon=True).start()
