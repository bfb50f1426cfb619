"""The FastAPI application, built by a factory so tests can point it at their own database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool
from starlette.middleware.gzip import GZipMiddleware

from api import errors
from api.ratelimit import LoginThrottle, TokenBuckets
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
    staffing,
    stats,
    tiles,
)
from api.security import BodyLimits, SecurityHeaders
from data.db import make_engine, resolve_url, session_factory
from data.settings import Settings, libpq_url, refuse_default_secrets
from maps.assets import STATIC_DIR

LOOKUP_POOL_TIMEOUT_S = 5.0
"""How long a lookup waits for a database connection before answering 503."""


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the app; the engine is created when it starts, not at import time."""
    settings = settings or Settings()
    refuse_default_secrets(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url or resolve_url(settings), pool_size=10)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        # The residents' lookups, tiles and public pages: async psycopg, no ORM on the fast path.
        pool = AsyncConnectionPool(
            libpq_url(engine.url.render_as_string(hide_password=False)),
            min_size=1,
            max_size=settings.lookup_pool_size,
            kwargs={"autocommit": True, "connect_timeout": 5},
            # A connection the server dropped (a restart) is replaced before a lookup uses it,
            # and a lookup waits a bounded time for one, then answers 503.
            check=AsyncConnectionPool.check_connection,
            timeout=LOOKUP_POOL_TIMEOUT_S,
            open=False,
        )
        await pool.open(wait=False)
        app.state.lookup_pool = pool
        app.state.pdf_slots = asyncio.Semaphore(2)
        yield
        await pool.close()
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
    app.include_router(docs.router)
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC_DIR)), name="static")
    app.add_middleware(BodyLimits, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
    return app
