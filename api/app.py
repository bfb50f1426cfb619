"""The FastAPI application, built by a factory so tests can point it at their own database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from api import errors
from api.ratelimit import LoginThrottle, TokenBuckets
from api.routes import (
    auth,
    communities,
    exchange,
    health,
    households,
    lookup,
    ogc,
    planner,
    plans,
    public,
    staffing,
    stats,
    tiles,
)
from api.security import BodyLimits, SecurityHeaders
from api.tilecache import TileCache
from data.db import make_engine, resolve_url, session_factory
from data.replicas import ReadRouter, Replica, open_pool, server_name, unusable_reason
from data.settings import Settings, refuse_default_secrets, replica_urls
from maps.assets import STATIC_DIR

log = logging.getLogger("wangge")


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
        app.state.pdf_slots = asyncio.Semaphore(2)
        yield
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
    )
    app.state.settings = settings
    errors.register(app)
    app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20)
    app.state.lookup_buckets = TokenBuckets(settings.lookup_rate_per_minute, settings.lookup_burst)
    app.state.login_throttle = LoginThrottle.of(
        settings.login_max_failures, settings.login_window_seconds
    )
    # The residents' hot paths first: Starlette tries routes in order.
    app.include_router(lookup.router, prefix="/api/v1")
    app.include_router(tiles.router)
    app.include_router(health.router)
    app.include_router(public.router)
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
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC_DIR)), name="static")
    app.add_middleware(BodyLimits, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
    return app
