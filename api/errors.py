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

from api.auth import BadCredentials, LoginRequired, NotAuthorised, OutOfScope
from api.ratelimit import RateLimited
from api.uploads import UploadTooLarge
from data.access.households import RecordsForbidden
from data.db import DatabaseUnavailable
from data.exchange.export import ExportError, ExportForbidden
from data.exchange.ogc import OGCError, OGCNotFound
from data.imports import MAX_REPORTED, ImportRejected
from data.plans.versions import InvalidEdit, NotADraft, PlanError, PlanNotFound, StaleRevision
from data.queries.lookup import BadLookup, NoSuchNumber, NotCovered, NotFound
from data.queries.tiles import TileOutOfRange
from data.requests.fieldwork import FieldworkError, OutsideDuty
from data.requests.humancheck import CheckFailed
from data.requests.machine import STATE_LABELS, OutOfOrder, ReasonRequired
from data.requests.photos import PhotoRejected
from data.requests.submit import BadRequest
from data.requests.workflow import BadDispatch, NotYourRequest, RequestNotFound
from geo.address import AddressError
from geo.offsets import OffsetError
from geo.points import PointError
from maps.pdf import PdfError

log = logging.getLogger("wangge")

DATABASE_DOWN = "数据库暂时无法连接，请稍后再试"
PRIMARY_DOWN = "主数据库暂时无法连接：查询网格员和网格地图照常，规划、登录和管理暂停，请稍后再试"
INTERNAL_ERROR = "服务器内部错误，请稍后再试"
BAD_VALUE = "输入的值无效：数字超出范围或文字含有空字符（NUL），请检查后重试"


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s: %s", request.url.path, exc)
    reads = getattr(request.app.state, "reads", None)
    detail = PRIMARY_DOWN if reads is not None and reads.serving() else DATABASE_DOWN
    return JSONResponse({"detail": detail}, status_code=503)


def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return _unavailable(request, exc)
    if isinstance(exc.orig, psycopg.DataError):
        return _bad_value(request, exc.orig)
    log.error("database error on %s", request.url.path, exc_info=exc)
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


def _bad_value(request: Request, exc: psycopg.DataError) -> JSONResponse:
    """A value the database cannot hold (a number out of its range, a NUL byte in text) that
    got past the routes' own checks: the caller's input, so 422, never a 500."""
    log.warning("value refused by the database on %s: %s", request.url.path, exc)
    return JSONResponse({"detail": BAD_VALUE}, status_code=422)


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
    """FastAPI's 422, rendered so that any input it echoes can be encoded; under ``/ogc`` the
    400 with an exception body that OGC API – Features prescribes."""
    if request.url.path.startswith("/ogc"):
        where = "; ".join(".".join(str(p) for p in e["loc"][1:]) for e in exc.errors())
        return _ogc_bad_request(request, OGCError(f"参数无效：{where}"))
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


STATUS: dict[type[Exception], int] = {
    # Most specific first: the first kind an error is an instance of gives its status.
    BadCredentials: 401,
    NotAuthorised: 403,
    ExportForbidden: 403,
    RecordsForbidden: 403,
    NotYourRequest: 403,
    OutOfScope: 404,
    RequestNotFound: 404,
    OutsideDuty: 404,
    PlanNotFound: 404,
    NotFound: 404,
    StaleRevision: 409,
    NotADraft: 409,
    OutOfOrder: 409,
    UploadTooLarge: 413,
    InvalidEdit: 422,
    PlanError: 422,
    ImportRejected: 422,
    AddressError: 400,
    PointError: 400,
    OffsetError: 400,
    BadLookup: 400,
    TileOutOfRange: 400,
    ExportError: 400,
    BadRequest: 400,
    PhotoRejected: 400,
    CheckFailed: 400,
    ReasonRequired: 400,
    BadDispatch: 400,
    FieldworkError: 400,
}
"""Domain errors and the HTTP status each is answered with; the body is ``{"detail": message}``
plus what :func:`_details` adds for the kinds that carry more."""


def _details(exc: Exception) -> dict:
    """What a client needs beyond the message: who changed a draft, the nearest community, an
    import's report."""
    if isinstance(exc, StaleRevision):
        return {"changed_by": exc.changed_by, "revision": exc.current}
    if isinstance(exc, NotCovered):
        near = exc.nearest
        return {
            "nearest_community": {
                "code": near.code,
                "name": near.name,
                "office_phone": near.office_phone,
            },
            "distance_m": near.distance_m,
        }
    if isinstance(exc, OutOfOrder):  # a request's state change out of order
        return {"state": exc.current.value, "state_label": STATE_LABELS[exc.current]}
    if isinstance(exc, NoSuchNumber):
        return {"suggestions": exc.suggestions}
    if isinstance(exc, ImportRejected):
        issues = [vars(issue) for issue in exc.issues[:MAX_REPORTED]]
        return {"problems": len(exc.issues), "issues": issues}
    return {}


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": str(exc)} | _details(exc), status, headers=headers)


def _rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
    return JSONResponse(
        {"detail": exc.detail},
        status_code=429,
        headers={"Retry-After": str(max(1, round(exc.retry_after)))},
    )


def _pdf_failed(request: Request, exc: PdfError) -> JSONResponse:
    log.error("signboard PDF failed on %s: %s", request.url.path, exc)
    return JSONResponse({"detail": "PDF 暂时无法生成，请打印网页版"}, 503)


def _ogc_not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "description": str(exc)}, status_code=404)


def _ogc_bad_request(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "InvalidParameterValue", "description": str(exc)}, status_code=400)


def register(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _internal)
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(DBAPIError, _database_error)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(psycopg.DataError, _bad_value)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg_pool.PoolTimeout, _unavailable)
    app.add_exception_handler(LoginRequired, _login_required)  # type: ignore[arg-type]
    app.add_exception_handler(RateLimited, _rate_limited)  # type: ignore[arg-type]
    app.add_exception_handler(PdfError, _pdf_failed)  # type: ignore[arg-type]
    app.add_exception_handler(OGCError, _ogc_bad_request)
    app.add_exception_handler(OGCNotFound, _ogc_not_found)
    for kind in STATUS:
        app.add_exception_handler(kind, _domain_error)
