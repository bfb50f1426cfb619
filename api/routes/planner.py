"""The planner pages: the list of communities in scope and the planner map of one community."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.auth import NotAuthorised, OutOfScope, PrincipalDep, ScopedCommunity
from api.deps import NonceDep, SessionDep
from api.routes.plans import plan_detail
from api.routes.requests import now
from api.templating import map_page, templates
from data.models import AccountRole, GridPlan, PlanStatus, StreetOffice
from data.plans.engine import diff_against_published
from data.plans.staffing import community_staff, follow_suggestions, grid_posts, unstaffed
from data.plans.versions import (
    communities_of,
    open_draft,
    plan_in_community,
    published_plan,
    version_history,
)
from data.queries.dashboard import community_rows
from data.queries.planmap import plan_layers, street_layers
from data.requests.fieldwork import band_alerts
from data.requests.views import heat_cells
from geo.check import RULES
from maps.planner import planner_map, street_map

router = APIRouter(tags=["planner pages"], include_in_schema=False)


@router.get("/plan", response_class=HTMLResponse)
def communities_page(
    request: Request, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    """社区列表: load and staffing of every community in the planner's scope."""
    rows = community_rows(session, principal.scope.communities)
    return templates.TemplateResponse(
        request,
        "plan_list.html",
        {
            "rows": rows,
            "alerts": band_alerts(session, principal.scope.communities),
            "account": principal.account,
            "csrf_token": principal.auth.csrf_token,
        },
    )


@router.get("/plan/{code}", response_class=HTMLResponse)
def community_page(
    request: Request,
    nonce: NonceDep,
    community: ScopedCommunity,
    principal: PrincipalDep,
    session: SessionDep,
    plan: int | None = None,
) -> HTMLResponse:
    """The planner map: the open draft (or the given plan, or the published one); for
    planners also the heat layer of the community's requests over the last year."""
    current: GridPlan | None
    if plan is not None:
        current = plan_in_community(session, community.code, plan)
    else:
        current = open_draft(session, community.code) or published_plan(session, community.code)
    if current is None:
        return HTMLResponse("<p>该社区还没有网格方案</p>", status_code=404)
    detail = plan_detail(session, current)
    loads = {g.number: g.load for g in detail.grids}
    over = sum(g.load == "over" for g in detail.grids)
    under = sum(g.load == "under" for g in detail.grids)
    panel = {
        "account": principal.account.display_name,
        "community": {"code": community.code, "name": community.name},
        "plan": detail.plan.model_dump(mode="json"),
        "band": list(detail.band),
        "grids": [g.model_dump() for g in detail.grids],
        "summary": f"{len(detail.grids)} 格，超出 {over}，不足 {under}",
        "violations": [
            {**v.model_dump(), "rule_zh": RULES.get(v.rule, v.rule)} for v in detail.violations
        ],
        "diff": diff_against_published(session, current) if current.status != "published" else {},
        "can_plan": principal.scope.can_plan,
        "csrf_token": principal.auth.csrf_token,
        "versions": jsonable_encoder(version_history(session, community.code)),
        "has_draft": open_draft(session, community.code) is not None,
        **_staffing(session, current, [g.number for g in detail.grids]),
    }
    heat = (
        heat_cells(session, frozenset({community.code}), now(request) - timedelta(days=365))
        if principal.scope.can_plan
        else None
    )
    return map_page(planner_map(plan_layers(session, current), loads, panel, heat), nonce)


def _staffing(session: Session, plan: GridPlan, numbers: list[int]) -> dict:
    """The staffing panel: each grid's posts, the community's staff to pick from, the grids
    left without a chief or full-time worker, and who would follow their households there."""
    posts = grid_posts(session, plan.id)
    return {
        "posts": {str(n): v for n, v in posts.items()},
        "staff": jsonable_encoder(community_staff(session, plan.community_code)),
        "unstaffed": {str(n): v for n, v in unstaffed(posts, numbers).items()},
        "follow": {str(n): v for n, v in follow_suggestions(session, plan).items()}
        if plan.status is PlanStatus.draft
        else {},
    }


@router.get("/plan/{code}/import", response_class=HTMLResponse)
def import_page(
    request: Request, community: ScopedCommunity, principal: PrincipalDep
) -> HTMLResponse:
    """导入数据: building and compound layers, and (community planners) the household table."""
    if not principal.scope.can_plan:
        raise NotAuthorised("只有规划人员可以导入数据")
    return templates.TemplateResponse(
        request,
        "import.html",
        {
            "community": community,
            "csrf_token": principal.auth.csrf_token,
            "can_households": principal.account.role is AccountRole.community_planner,
        },
    )


@router.get("/plan/street/{street}", response_class=HTMLResponse)
def street_page(
    nonce: NonceDep, street: str, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    """A street office's grids (drafts where open), coloured by load."""
    office = session.get(StreetOffice, street)
    codes = [c for c in communities_of(session, street) if principal.scope.sees_community(c)]
    if office is None or not codes:
        raise OutOfScope(f"街道 {street} 不存在或不在您的管辖范围内")
    return map_page(street_map(street_layers(session, street, codes), office.name), nonce)
