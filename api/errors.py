"""Domain errors mapped to HTTP in one place; no stack trace or SQL ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

from data.db import DatabaseUnavailable

log = logging.getLogger("wangge")

DATABASE_DOWN = "数据库暂时无法连接，请稍后再试 (database unavailable)"


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s: %s", request.url.path, exc)
    return JSONResponse({"detail": DATABASE_DOWN}, status_code=503)


def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return _unavailable(request, exc)
    log.exception("database error on %s", request.url.path)
    return JSONResponse({"detail": "服务器内部错误 (internal error)"}, status_code=500)


def register(app: FastAPI) -> None:
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
