"""The staff's side of the work loop: the grid worker's phone pages (``/work``: inbox by
urgency with the map, one request with its one-tap actions, the grid at a glance with the
household updates), the community dispatcher's queue, the planners' band alerts with the
re-balance button, and the requests dashboard with the heat map (``/plan/requests``).

The pages act through the JSON API (``/api/v1/requests/...``, ``/api/v1/fieldwork/...``) from
``/static/work.js``: no inline script, every write carrying the session's CSRF token.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from api.auth import NotAuthorised, PrincipalDep, ScopedCommunity
from api.deps import PG_INT_MAX, SessionDep
from api.routes.requests import CallerDep, now
from api.templating import templates
from data.access.households import Query as RecordQuery
from data.access.households import read_records
from data.models import AccountRole, Staff
from data.plans.engine import rebalance_draft
from data.plans.versions import PlanNotFound, published_plan, start_draft
from data.requests import dashboard as figures
from data.requests import fieldwork, views
from data.requests.fieldwork import CARE_TAGS, MoveIn

pages = APIRouter(tags=["work pages"], include_in_schema=False)
router = APIRouter(prefix="/fieldwork", tags=["fieldwork 网格信息更新"])

HouseholdId = Annotated[int, Path(ge=1, le=PG_INT_MAX)]


def _tally(t: fieldwork.Tally | None) -> dict:
    if t is None:
        return {}
    return {
        "grid_code": t.grid_code,
        "households": t.households,
        "band": [t.band_min, t.band_max],
        "in_band": t.in_band,
    }


class NewHousehold(BaseModel):
    building_id: int = Field(ge=1, le=PG_INT_MAX)
    unit_id: int | None = Field(default=None, ge=1, le=PG_INT_MAX)
    floor: int = Field(ge=-5, le=200)
    room: str = Field(min_length=1, max_length=20)
    head_name: str = Field(min_length=1, max_length=40)
    head_phone: str | None = Field(default=None, max_length=20)
    members: int = Field(ge=1, le=30)


@router.post("/households", status_code=status.HTTP_201_CREATED)
def move_in(body: NewHousehold, who: CallerDep, session: SessionDep) -> dict:
    """迁入: a household moves into a building of the caller's grid; answers the grid's tally."""
    household_id, tally = fieldwork.move_in(session, who, MoveIn(**body.model_dump()))
    session.commit()
    return {"household_id": household_id, **_tally(tally)}


@router.delete("/households/{household_id}")
def move_out(household_id: HouseholdId, who: CallerDep, session: SessionDep) -> dict:
    """迁出: the household leaves; answers the grid's tally."""
    tally = fieldwork.move_out(session, who, household_id)
    session.commit()
    return _tally(tally)


class Members(BaseModel):
    members: int = Field(ge=1, le=30)


@router.put("/households/{household_id}/members")
def members(household_id: HouseholdId, body: Members, who: CallerDep, session: SessionDep) -> dict:
    """家庭人口."""
    tally = fieldwork.set_members(session, who, household_id, body.members)
    session.commit()
    return _tally(tally)


class Care(BaseModel):
    tags: list[str] = Field(max_length=len(CARE_TAGS))


@router.put("/households/{household_id}/care")
def care(household_id: HouseholdId, body: Care, who: CallerDep, session: SessionDep) -> dict:
    """关爱标签 (sensitive): replace the household's care tags."""
    tally = fieldwork.set_care(session, who, household_id, set(body.tags))
    session.commit()
    return _tally(tally)


def _page(request: Request, principal, name: str, **values) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"account": principal.account, "csrf_token": principal.auth.csrf_token, **values},
    )


@pages.get("/work", response_class=HTMLResponse)
def inbox_page(
    request: Request, principal: PrincipalDep, who: CallerDep, session: SessionDep
) -> HTMLResponse:
    """一键接单: the caller's open requests by urgency, with the map."""
    items = views.inbox(session, who, now(request))
    return _page(request, principal, "work.html", items=items)


@pages.get("/work/r/{code}", response_class=HTMLResponse)
def request_page(
    request: Request,
    code: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16}$")],
    principal: PrincipalDep,
    who: CallerDep,
    session: SessionDep,
) -> HTMLResponse:
    """One request with its one-tap actions (accept, note, close; return; dispatch)."""
    item = views.detail(session, who, code, now(request))
    session.commit()  # the audit row of a personal read
    volunteers = []
    if item["may_dispatch"]:
        volunteers = (
            session.query(Staff)
            .filter(Staff.community_code == item["community_code"], Staff.party_member.is_(True))
            .order_by(Staff.name)
            .limit(100)
            .all()
        )
    return _page(
        request,
        principal,
        "work_request.html",
        r=item,
        departments=request.app.state.settings.request_departments,
        volunteers=volunteers,
    )


@pages.get("/work/grid", response_class=HTMLResponse)
def grid_page(
    request: Request, principal: PrincipalDep, who: CallerDep, session: SessionDep
) -> HTMLResponse:
    """基本情况一键查看 and 网格信息一键更新 for the worker's own grids."""
    if principal.account.role is not AccountRole.grid_worker:
        raise NotAuthorised("此页面供网格员使用")
    grids = fieldwork.grid_glance(session, who)
    for grid in grids:  # masked, as the household API answers without a reason; audited
        query = RecordQuery(grid["community_code"], grid=grid["code"], limit=200)
        grid["households_list"] = read_records(session, principal.scope, query)
    cared = fieldwork.care_list(session, who)
    session.commit()  # the audit rows of these reads
    return _page(request, principal, "work_grid.html", grids=grids, cared=cared, tags=CARE_TAGS)


@pages.get("/plan/requests", response_class=HTMLResponse)
def dashboard_page(
    request: Request, principal: PrincipalDep, who: CallerDep, session: SessionDep
) -> HTMLResponse:
    """诉求统计: per street, community and grid, and the heat map (planners only)."""
    if not principal.scope.can_plan:
        raise NotAuthorised("诉求统计仅供规划人员查看")
    at = now(request)
    since, until = at - timedelta(days=365), at + timedelta(seconds=1)
    tables = {
        level: figures.dashboard(
            session, who.communities, level=level, since=since, until=until, now=at
        )
        for level in ("street", "community", "grid")
    }
    return _page(request, principal, "requests_dashboard.html", tables=tables)


@pages.post("/plan/{code}/rebalance", response_class=RedirectResponse)
def rebalance_page(
    community: ScopedCommunity,
    principal: PrincipalDep,
    session: SessionDep,
) -> RedirectResponse:
    """The band alert's button: open (or reuse) the community's draft, re-balance it, and show
    it on the planner map for review; nothing is published."""
    if not principal.scope.can_plan:
        raise NotAuthorised("只有规划人员可以修改网格方案")
    if published_plan(session, community.code) is None:
        raise PlanNotFound("该社区还没有已发布的网格方案")
    draft = start_draft(session, community.code, principal.scope.actor)
    session.flush()
    rebalance_draft(session, draft, draft.revision, principal.scope.actor)
    session.commit()
    return RedirectResponse(f"/plan/{community.code}?plan={draft.id}", status_code=303)
