"""Residents' requests (群众诉求), end to end: report, track, rate (no account), and the staff's
inbox, dispatch, accept, note, return and close; dashboards, heat map cells and exports.

``router`` is the JSON API (under ``/api/v1``), ``pages`` the zh-CN pages: ``/report``,
``/r/{code}``, and the staff's ``/work`` pages. Both call the same functions of
:mod:`data.requests`; the scope and duty checks are there and in the ``CallerDep`` dependency.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth import PrincipalDep
from api.deps import SessionDep
from api.ratelimit import LookupLimit, RateLimited, spend
from api.templating import templates
from data.queries import lookup
from data.requests import dashboard as figures
from data.requests import humancheck, views, workflow
from data.requests.machine import RATINGS, OutOfOrder
from data.requests.photos import MAX_PHOTO_BYTES, MAX_PHOTOS, Photo, PhotoRejected, clean_photo
from data.requests.submit import BadRequest, Report, check_report, point_of_address, submit
from geo.address import parse_address
from geo.points import Datum, from_datum

router = APIRouter(tags=["requests 群众诉求"])
pages = APIRouter(tags=["request pages"], include_in_schema=False)
FALLBACK_BOUNDS = (109.10, 27.65, 109.30, 27.80)  # Bijiang's centre, before data is loaded

TrackingCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16}$", description="查询码")]


class ReportLimited(RateLimited):
    detail = "提交过于频繁，请稍后再试"


def now(request: Request) -> datetime:
    """The app's clock (tests may replace ``app.state.clock``)."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


def caller(principal: PrincipalDep) -> workflow.Caller:
    """The logged-in staff member as the request workflow sees them."""
    scope = principal.scope
    return workflow.Caller(
        actor=f"account:{principal.account.username}",
        role=principal.account.role,
        communities=scope.communities,
        grid_codes=scope.grid_codes,
        staff_id=principal.account.staff_id,
    )


CallerDep = Annotated[workflow.Caller, Depends(caller)]


async def _check_key(request: Request) -> str:
    key = getattr(request.app.state, "check_key", None)
    if key is None:
        async with request.app.state.reads.connection(primary=True) as conn:
            cur = await conn.execute("SELECT value FROM app_secret WHERE name = 'human_check'")
            key = (await cur.fetchone())[0]
        request.app.state.check_key = key
    return key


async def _photos(files: list[UploadFile]) -> list[Photo]:
    """The uploaded photos checked and re-encoded; a file is read up to one byte past the
    limit, enough to refuse it."""
    files = [f for f in files if f.filename]
    if len(files) > MAX_PHOTOS:
        raise PhotoRejected(f"最多上传 {MAX_PHOTOS} 张照片")
    return [clean_photo(await f.read(MAX_PHOTO_BYTES + 1), f.filename or "") for f in files]


class Challenge(BaseModel):
    question: str
    token: str


@router.get("/requests/check", response_model=Challenge)
async def human_check(request: Request) -> Challenge:
    """A small arithmetic question to answer with the report (signed, valid 30 minutes)."""
    c = humancheck.challenge(await _check_key(request))
    return Challenge(question=c.question, token=c.token)


class Categories(BaseModel):
    categories: list[str]
    sla_hours: dict[str, float]


@router.get("/requests/categories", response_model=Categories)
def categories(request: Request) -> Categories:
    """The categories a resident chooses from and each one's time limit in hours."""
    sla = request.app.state.settings.request_sla_hours
    return Categories(categories=list(sla), sla_hours=sla)


class Submitted(BaseModel):
    code: str
    state: str
    grid_code: str | None
    community: str
    assignee: str | None = Field(description="the grid worker's name, when routed to one")
    due_at: datetime
    tracking_url: str


@router.post("/requests", response_model=Submitted, status_code=status.HTTP_201_CREATED)
async def submit_request(
    request: Request,
    category: Annotated[str, Form(max_length=16)],
    text: Annotated[str, Form(max_length=4000)],
    check_token: Annotated[str, Form(max_length=200)],
    check_answer: Annotated[str, Form(max_length=10)],
    lon: Annotated[float | None, Form()] = None,
    lat: Annotated[float | None, Form()] = None,
    coordsys: Annotated[Datum, Form()] = Datum.wgs84,
    address: Annotated[str | None, Form(max_length=100)] = None,
    phone: Annotated[str | None, Form(max_length=20)] = None,
    photos: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI reads, never mutates)
) -> Submitted:
    """群众诉求一键反映: no account. The request goes at once to the grid (and its full-time
    worker) covering the point (``lon``/``lat`` in ``coordsys``) or the building of
    ``address``; outside every grid, to the nearest community's dispatchers. Answers the
    tracking code. Up to three JPEG/PNG photos (≤ 5 MB), re-encoded without metadata."""
    settings = request.app.state.settings
    humancheck.verify(await _check_key(request), check_token, check_answer)
    await spend(request, request.app.state.report_budget)
    cleaned = await _photos(photos)
    async with request.app.state.reads.connection(primary=True) as conn:  # a write
        if lon is not None and lat is not None:
            x, y = from_datum(lon, lat, coordsys)
        elif address and address.strip():
            x, y = await point_of_address(conn, parse_address(address))
        else:
            raise BadRequest("请在地图上点选位置，或填写地址")
        report = check_report(Report(category, text, x, y, phone), settings.request_sla_hours)
        done = await submit(
            conn,
            report,
            now=now(request),
            sla_hours=settings.request_sla_hours[report.category],
            radius_m=settings.request_service_radius_m,
            photos=cleaned,
        )
    return Submitted(
        code=done.code,
        state=done.state.value,
        grid_code=done.grid_code,
        community=done.community_name,
        assignee=done.assignee_name,
        due_at=done.due_at,
        tracking_url=f"/r/{done.code}",
    )


@router.get("/requests/track/{code}")
def track(code: TrackingCode, session: SessionDep, _: LookupLimit) -> dict:
    """办理结果一键送达: the request's state, each step's time and the public result."""
    return views.tracking(session, code)


class Rating(BaseModel):
    rating: str = Field(description="satisfied 满意 / basically 基本满意 / unsatisfied 不满意")


@router.post("/requests/track/{code}/rating")
def rate(code: TrackingCode, body: Rating, request: Request, session: SessionDep) -> dict:
    """The resident's rating once closed; 不满意 reopens the request to the community."""
    workflow.rate(
        session,
        code,
        body.rating,
        now=now(request),
        sla_hours=request.app.state.settings.request_sla_hours,
    )
    session.commit()
    return views.tracking(session, code)


@router.get("/requests")
def inbox(request: Request, who: CallerDep, session: SessionDep) -> list[dict]:
    """The caller's open requests, most urgent first (overdue, then the nearest time limit)."""
    return views.inbox(session, who, now(request))


def _dashboard_window(days: int, request: Request) -> tuple[datetime, datetime, datetime]:
    until = now(request)
    return until - timedelta(days=days), until + timedelta(seconds=1), until


@router.get("/requests/dashboard")
def dashboard(
    request: Request,
    who: CallerDep,
    session: SessionDep,
    level: Annotated[str, Query(pattern="^(street|community|grid)$")] = "community",
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> list[dict]:
    """Per street office, community or grid in the caller's scope: requests by state and
    category, on-time rate, mean hours to close, satisfaction (no personal fields)."""
    since, until, at = _dashboard_window(days, request)
    return figures.dashboard(
        session,
        who.communities,
        level=level,
        since=since,
        until=until,
        now=at,
        grid_codes=who.grid_codes,
    )


@router.get("/requests/heat")
def heat(
    request: Request,
    who: CallerDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> dict:
    """Request counts per ~200 m cell for the planners' heat map (EPSG:4490 lon/lat)."""
    if not who.role.value.endswith("planner") and who.role.value != "admin":
        raise workflow.NotYourRequest("热力图仅供规划人员查看")
    since, _, _ = _dashboard_window(days, request)
    cells = views.heat_cells(session, who.communities, since)
    return {"crs": "EPSG:4490", "cells": [[round(x, 6), round(y, 6), n] for x, y, n in cells]}


@router.get("/requests/export", response_class=Response)
def export(
    request: Request,
    who: CallerDep,
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(csv|geojson)$")] = "geojson",
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
    personal: bool = False,
) -> Response:
    """Requests in scope for the city platform, EPSG:4490. The resident's text and phone only
    with ``personal=true`` for the community's dispatchers (audited)."""
    since, until, _ = _dashboard_window(days, request)
    rows = views.export_rows(session, who, since=since, until=until, personal=personal)
    session.commit()
    headers = {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4490>"}
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["code"])
        writer.writeheader()
        writer.writerows(rows)
        headers["Content-Disposition"] = 'attachment; filename="requests_EPSG-4490.csv"'
        return Response("\ufeff" + out.getvalue(), media_type="text/csv", headers=headers)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r.pop("lon"), r.pop("lat")]},
            "properties": r,
        }
        for r in rows
    ]
    body = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": features,
    }
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        media_type="application/geo+json",
        headers=headers,
    )


@router.get("/requests/{code}")
def request_detail(
    code: TrackingCode, request: Request, who: CallerDep, session: SessionDep
) -> dict:
    """One request for staff in scope; the phone and photos only for the assignee and the
    community's dispatchers (that read is audited), masked for others."""
    item = views.detail(session, who, code, now(request))
    session.commit()
    return item


@router.get(
    "/requests/{code}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def request_photo(
    code: TrackingCode,
    photo_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    who: CallerDep,
    session: SessionDep,
) -> Response:
    """A photo (JPEG, no metadata), for the assignee and the community's dispatchers."""
    data = views.photo(session, who, code, photo_id)
    session.commit()
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


class Dispatch(BaseModel):
    kind: str = Field(pattern="^(grid|department|volunteer)$")
    value: str = Field(max_length=40)
    reason: str | None = Field(default=None, max_length=500)


class Reason(BaseModel):
    reason: str = Field(max_length=500)


@router.post("/requests/{code}/dispatch")
def dispatch(
    code: TrackingCode, body: Dispatch, request: Request, who: CallerDep, session: SessionDep
) -> dict:
    """信息中心一键派单 / 转派 to a grid, a department or a party-member volunteer."""
    workflow.dispatch(
        session,
        who,
        code,
        workflow.Target(body.kind, body.value),
        now=now(request),
        departments=request.app.state.settings.request_departments,
        reason=body.reason,
    )
    session.commit()
    return views.detail(session, who, code, now(request))


@router.post("/requests/{code}/accept")
def accept(code: TrackingCode, request: Request, who: CallerDep, session: SessionDep) -> dict:
    """一键接单."""
    workflow.accept(session, who, code, now=now(request))
    session.commit()
    return views.detail(session, who, code, now(request))


@router.post("/requests/{code}/return")
def give_back(
    code: TrackingCode, body: Reason, request: Request, who: CallerDep, session: SessionDep
) -> dict:
    """退回 to the community's dispatchers, with a reason."""
    workflow.give_back(session, who, code, body.reason, now=now(request))
    session.commit()
    return views.detail(session, who, code, now(request))


@router.post("/requests/{code}/note")
async def note(
    code: TrackingCode,
    request: Request,
    who: CallerDep,
    session: SessionDep,
    text: Annotated[str, Form(max_length=2000)],
    public: Annotated[bool, Form()] = True,
    photos: Annotated[list[UploadFile], File()] = [],  # noqa: B006
) -> dict:
    """办理进展: a note (public to the resident unless ``public=false``) and photos."""
    cleaned = await _photos(photos)
    workflow.add_note(session, who, code, text, now=now(request), public=public, photos=cleaned)
    session.commit()
    return views.detail(session, who, code, now(request))


@router.post("/requests/{code}/close")
async def close(
    code: TrackingCode,
    request: Request,
    who: CallerDep,
    session: SessionDep,
    result: Annotated[str, Form(max_length=2000)],
    internal: Annotated[str | None, Form(max_length=2000)] = None,
    photos: Annotated[list[UploadFile], File()] = [],  # noqa: B006
) -> dict:
    """办结 with the result the resident reads (``internal``: staff only)."""
    cleaned = await _photos(photos)
    workflow.close(session, who, code, result, now=now(request), internal=internal, photos=cleaned)
    session.commit()
    return views.detail(session, who, code, now(request))


# ---- pages ---------------------------------------------------------------------------------


@pages.get("/report", response_class=HTMLResponse)
async def report_page(
    request: Request,
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{15}$")] = None,
) -> HTMLResponse:
    """反映问题: the residents' report form (from /find, /g/{code} and the signboard)."""
    settings = request.app.state.settings
    async with request.app.state.reads.connection() as conn:
        bounds = await lookup.district_bounds(conn) or FALLBACK_BOUNDS
    return templates.TemplateResponse(
        request,
        "report.html",
        {
            "categories": list(settings.request_sla_hours),
            "grid": grid or "",
            "bounds": [round(v, 6) for v in bounds],
        },
    )


@pages.get("/r/{code}", response_class=HTMLResponse)
def tracking_page(request: Request, code: str, session: SessionDep, _: LookupLimit) -> HTMLResponse:
    """The resident's tracking page: state, steps, result, and the rating once closed."""
    try:
        item = views.tracking(session, code) if len(code) == 16 else None
    except workflow.RequestNotFound:
        item = None
    if item is None:
        return templates.TemplateResponse(request, "track_missing.html", {}, status_code=404)
    return templates.TemplateResponse(request, "track.html", {"r": item, "ratings": RATINGS})


@pages.post("/r/{code}/rate", response_class=RedirectResponse)
def rate_form(
    request: Request,
    code: TrackingCode,
    session: SessionDep,
    rating: Annotated[str, Form(max_length=16)],
) -> RedirectResponse:
    """The rating form of the tracking page (no script needed); a second rating or an unknown
    choice changes nothing and the page shows the request as it is."""
    sla = request.app.state.settings.request_sla_hours
    try:
        workflow.rate(session, code, rating, now=now(request), sla_hours=sla)
        session.commit()
    except (OutOfOrder, workflow.BadDispatch):
        session.rollback()
    return RedirectResponse(f"/r/{code}", status_code=303)
