"""Domain errors mapped to HTTP in one place; no stack trace or SQL ever reaches a client."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError

from api.auth import LoginRequired
from api.deps import NotAuthorised
from api.ratelimit import RateLimited
from data.db import DatabaseUnavailable
from data.exchange.export import ExportError, ExportForbidden
from data.exchange.ogc import OGCError, OGCNotFound
from data.importing import MAX_REPORTED, ImportRejected
from data.plans.versions import InvalidEdit, NotADraft, PlanError, PlanNotFound, StaleRevision
from data.queries.lookup import BadLookup, NoSuchNumber, NotCovered, NotFound
from data.queries.tiles import TileOutOfRange
from geo.address import AddressError
from geo.offsets import OffsetError
from geo.points import PointError
from maps.pdf import PdfError

log = logging.getLogger("wangge")

DATABASE_DOWN = "数据库暂时无法连接，请稍后再试"
INTERNAL_ERROR = "服务器内部错误，请稍后再试"


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s: %s", request.url.path, exc)
    return JSONResponse({"detail": DATABASE_DOWN}, status_code=503)


def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return _unavailable(request, exc)
    log.error("database error on %s", request.url.path, exc_info=exc)
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


def _internal(request: Request, exc: Exception) -> JSONResponse:
    """Anything unexpected: logged with its stack trace, a generic message to the client."""
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


class _AsciiJSON(JSONResponse):
    """JSON with non-ASCII escaped: echoed input may hold lone surrogates (``"\\ud800"`` is
    valid JSON) that UTF-8 cannot encode."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, rendered so that any input it echoes can be encoded."""
    return _AsciiJSON({"detail": jsonable_encoder(exc.errors())}, status_code=422)


def _login_required(request: Request, exc: LoginRequired) -> Response:
    """Pages send the browser to the login page; the API answers 401."""
    if request.url.path.startswith("/api/") or request.method != "GET":
        return JSONResponse(
            {"detail": "请先登录"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


PLAN_STATUS = {PlanNotFound: 404, StaleRevision: 409, NotADraft: 409, InvalidEdit: 422}


def _plan_error(request: Request, exc: PlanError) -> JSONResponse:
    status = next((code for kind, code in PLAN_STATUS.items() if isinstance(exc, kind)), 422)
    body: dict = {"detail": str(exc)}
    if isinstance(exc, StaleRevision):
        body |= {"changed_by": exc.changed_by, "revision": exc.current}
    return JSONResponse(body, status_code=status)


def _bad_input(request: Request, exc: Exception) -> JSONResponse:
    """Input a resident or a client can correct: 400 with the reason."""
    return JSONResponse({"detail": str(exc)}, status_code=400)


def _not_found(request: Request, exc: NotFound) -> JSONResponse:
    body: dict = {"detail": str(exc)}
    if isinstance(exc, NotCovered):
        near = exc.nearest
        body |= {
            "nearest_community": {
                "code": near.code,
                "name": near.name,
                "office_phone": near.office_phone,
            },
            "distance_m": near.distance_m,
        }
    if isinstance(exc, NoSuchNumber):
        body["suggestions"] = exc.suggestions
    return JSONResponse(body, status_code=404)


def _rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.detail},
        status_code=429,
        headers={"Retry-After": str(max(1, round(exc.retry_after)))},
    )


def _pdf_failed(request: Request, exc: PdfError) -> JSONResponse:
    log.error("signboard PDF failed on %s: %s", request.url.path, exc)
    return JSONResponse({"detail": "PDF 暂时无法生成，请打印网页版"}, 503)


def _export_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


def _ogc_not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "description": str(exc)}, status_code=404)


def _ogc_bad_request(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "InvalidParameterValue", "description": str(exc)}, status_code=400)


def _import_rejected(request: Request, exc: ImportRejected) -> JSONResponse:
    """422 with the whole report: file, row, column and problem of each issue."""
    issues = [vars(issue) for issue in exc.issues[:MAX_REPORTED]]
    body = {"detail": str(exc), "problems": len(exc.issues), "issues": issues}
    return JSONResponse(body, status_code=422)


def register(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _internal)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PlanError, _plan_error)
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(psycopg_pool.PoolTimeout, _unavailable)
    for kind in (AddressError, PointError, OffsetError, BadLookup, TileOutOfRange):
        app.add_exception_handler(kind, _bad_input)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(PdfError, _pdf_failed)
    app.add_exception_handler(ExportError, _export_error)
    app.add_exception_handler(ExportForbidden, _forbidden)
    app.add_exception_handler(NotAuthorised, _forbidden)
    app.add_exception_handler(ImportRejected, _import_rejected)
    app.add_exception_handler(OGCError, _ogc_bad_request)
    app.add_exception_handler(OGCNotFound, _ogc_not_found)
