"""The FastAPI application, built by a factory so tests can point it at their own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routes import auth, exchange, health, ogc, stats
from data.db import make_engine, resolve_url, session_factory
from data.settings import Settings


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the app; the engine is created when it starts, not at import time."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url or resolve_url(settings), pool_size=10)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="网格 Wangge",
        summary="社区网格化服务管理：网格地图、网格员查询与网格规划",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.register(app)
    app.include_router(health.router)
    app.include_router(exchange.router, prefix="/api/v1")
    app.include_router(ogc.router)
    app.include_router(stats.router, prefix="/api/v1")
    app.include_router(auth.pages)
    app.include_router(auth.api, prefix="/api/v1")
    return app
