"""The FastAPI application, built by a factory so tests can point it at their own database."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool
from starlette.middleware.gzip import GZipMiddleware

from api import errors
from api.background import escalator
from api.ratelimit import Budget, LoginThrottle, forget_full_budgets
from api.routes import (
    auth,
    communities,
    docs,
    exchange,
    health,
    households,
    lookup,
    ogc,
    planner,
    plans,
    public,
    requests,
    staffing,
    stats,
    tiles,
    work,
)
from api.security import BodyLimits, RefuseNul, SecurityHeaders
from api.tilecache import TileCache
from data.db import make_engine, resolve_url, session_factory
from data.replicas import (
    ReadRouter,
    Replica,
    idle_connection_alive,
    open_pool,
    server_name,
    unusable_reason,
)
from data.settings import Settings, libpq_url, refuse_default_secrets, replica_urls
from maps.assets import STATIC_DIR

log = logging.getLogger("wangge")
LOOKUP_POOL_TIMEOUT_S = 5.0
"""How long a request waits for a rate-limit connection before answering 503."""
LIMIT_POOL_SIZE = 4
"""Connections per server process for the rate limits' one-statement updates."""


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the app; the engine is created when it starts, not at import time."""
    settings = settings or Settings()
    refuse_default_secrets(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url or resolve_url(settings), pool_size=10)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        # The residents' lookups, tiles and public pages: async psycopg, no ORM on the fast
        # path, on a read replica when there is a fresh one (``data/replicas.py``).
        primary_url = engine.url.render_as_string(hide_password=False)
        reads = ReadRouter(
            primary_url,
            await open_pool(primary_url, settings.lookup_pool_size),
            engine,
            max_lag_s=settings.replica_max_lag_s,
        )
        for url in replica_urls(settings):
            reason = await asyncio.to_thread(unusable_reason, url, primary_url)
            if reason:
                log.warning(
                    "WANGGE_REPLICA_URL %s ignored: %s; public reads use the primary",
                    server_name(url),
                    reason,
                )
                reads.rejected[server_name(url)] = reason
                continue
            pool = await open_pool(url, settings.lookup_pool_size)
            replica_engine = make_engine(url, pool_size=5)
            reads.replicas.append(Replica(server_name(url), url, pool, replica_engine))
        watcher = None
        if reads.replicas:
            await reads.check()
            watcher = asyncio.create_task(reads.watch(settings.replica_check_interval_s))
        app.state.reads = reads
        # The rate limits' budgets: written on every limited request, so on the primary.
        limit_pool = AsyncConnectionPool(
            libpq_url(engine.url.render_as_string(hide_password=False)),
            min_size=1,
            max_size=LIMIT_POOL_SIZE,
            kwargs={
                "autocommit": True,
                "connect_timeout": 5,
                "application_name": f"wangge limits {os.getpid()}",
            },
            check=idle_connection_alive,  # no round trip: every limited request uses one
            timeout=LOOKUP_POOL_TIMEOUT_S,
            open=False,
        )
        await limit_pool.open(wait=False)
        app.state.limit_pool = limit_pool
        forgetting = asyncio.create_task(forget_full_budgets(limit_pool))
        app.state.pdf_slots = asyncio.Semaphore(2)
        escalating = escalator(app, settings.escalate_every_seconds)
        # What is built by now (the libraries, the app) lives as long as the process: out of
        # the collector's reach, a full collection no longer walks it (about 250 ms on this
        # app, a stall of every request in flight: the lookup's p99).
        gc.collect()
        gc.freeze()
        yield
        escalating.cancel()
        forgetting.cancel()
        await limit_pool.close()
        if watcher is not None:
            watcher.cancel()
        for replica in reads.replicas:
            await replica.pool.close()
            replica.engine.dispose()
        await reads.primary_pool.close()
        engine.dispose()

    app = FastAPI(
        title="网格 Wangge",
        summary="社区网格化服务管理：网格地图、网格员查询与网格规划",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from the app's own Swagger UI copy: api/routes/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    errors.register(app)
    app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20)
    app.state.lookup_budget = Budget(
        "lookup", settings.lookup_rate_per_minute, settings.lookup_burst
    )
    app.state.report_budget = Budget(
        "report", settings.report_rate_per_minute, settings.report_burst
    )
    app.state.login_throttle = LoginThrottle.of(
        settings.login_max_failures, settings.login_window_seconds
    )
    # The residents' hot paths first: Starlette tries routes in order.
    app.include_router(lookup.router, prefix="/api/v1")
    app.include_router(tiles.router)
    app.include_router(health.router)
    app.include_router(public.router)
    app.include_router(requests.router, prefix="/api/v1")
    app.include_router(requests.pages)
    app.include_router(work.router, prefix="/api/v1")
    app.include_router(work.pages)
    app.include_router(exchange.router, prefix="/api/v1")
    app.include_router(ogc.router)
    app.include_router(stats.router, prefix="/api/v1")
    app.include_router(auth.pages)
    app.include_router(auth.api, prefix="/api/v1")
    app.include_router(communities.router, prefix="/api/v1")
    app.include_router(plans.router, prefix="/api/v1")
    app.include_router(plans.streets, prefix="/api/v1")
    app.include_router(staffing.router, prefix="/api/v1")
    app.include_router(households.router, prefix="/api/v1")
    app.include_router(planner.router)
    app.include_router(docs.router)
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC_DIR)), name="static")
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyLimits, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
    return app
