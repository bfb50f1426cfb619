"""Grid plans of a community: versions, the shared draft, edits, publishing and rollback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from api.auth import OutOfScope, PlannerDep, ScopedCommunity, ScopeDep, planner_scope
from api.deps import PG_INT_MAX, SessionDep
from data.models import GridPlan
from data.plans.engine import (
    diff_against_published,
    divide_draft,
    move_buildings,
    neighbour_numbers,
    publish,
    rebalance_draft,
    rollback,
    tallies,
    view_plan,
)
from data.plans.versions import (
    communities_of,
    discard_draft,
    edit_history,
    plan_in_community,
    start_draft,
    undo,
)

router = APIRouter(prefix="/communities/{code}", tags=["plans"])


def plan_of_community(
    community: ScopedCommunity,
    session: SessionDep,
    plan_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)],
) -> GridPlan:
    """The plan named in the path, within a community the caller may see (else 404)."""
    return plan_in_community(session, community.code, plan_id)


ScopedPlan = Annotated[GridPlan, Depends(plan_of_community)]


class PlanSummary(BaseModel):
    id: int
    version: int
    status: str
    revision: int
    created_by: str
    updated_by: str | None
    created_at: datetime
    published_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, plan: GridPlan) -> PlanSummary:
        return cls.model_validate(plan, from_attributes=True)


class GridTally(BaseModel):
    number: int
    code: str
    name: str
    households: int
    buildings: int
    load: str = Field(description="under / in_band / over")


class Finding(BaseModel):
    rule: str
    grid: str | None
    ok: bool
    detail: str


class PlanDetail(BaseModel):
    plan: PlanSummary
    band: tuple[int, int]
    ok: bool
    grids: list[GridTally]
    violations: list[Finding]
    report_zh: str


class Rebalanced(PlanDetail):
    households_moved: int = Field(description="Households whose grid worker changes.")
    new_households_moved: int = Field(
        description="Households of entrances and buildings added since the published plan, "
        "placed where they fit best and not counted in households_moved."
    )


class Revision(BaseModel):
    revision: int = Field(
        ge=1, le=PG_INT_MAX, description="The draft revision this edit was made against."
    )


class EngineRun(Revision):
    seed: int = 0


class DivideRun(EngineRun):
    strict: bool = Field(
        False, description="Refuse (422) instead of returning a plan that breaks a rule."
    )


class RebalanceRun(EngineRun):
    best: bool = Field(
        False, description="Best plan: the exact solver's when it moves fewer, within 10 s."
    )


class Move(Revision):
    building_ids: list[Annotated[int, Field(ge=1, le=PG_INT_MAX)]] = Field(
        min_length=1, max_length=200
    )
    to_grid: int = Field(ge=1, le=999, description="Number of the neighbouring grid.")


class Publish(Revision):
    reason: str | None = Field(None, max_length=2000, description="Why a rule is broken.")


class Rollback(BaseModel):
    version: int = Field(ge=1, le=PG_INT_MAX)
    reason: str = Field(min_length=1, max_length=2000)


def plan_detail(session: SessionDep, plan: GridPlan) -> PlanDetail:
    view = view_plan(session, plan)
    report = view.check()
    table = tallies(view)
    grids = {g.number: g for g in plan.grids}
    return PlanDetail(
        plan=PlanSummary.of(plan),
        band=view.frames.band,
        ok=report.ok,
        grids=[
            GridTally(
                number=int(number),
                code=grids[number].code,
                name=grids[number].name,
                households=int(row.households),
                buildings=int(row.buildings),
                load=row.load,
            )
            for number, row in sorted(table.iterrows(), key=lambda item: int(item[0]))
            if number in grids
        ],
        violations=[Finding(**f) for f in report.to_dict()["findings"] if not f["ok"]],
        report_zh=report.to_text_zh(),
    )


@router.get("/plans", response_model=list[PlanSummary])
def list_plans(community: ScopedCommunity, session: SessionDep) -> list[PlanSummary]:
    """Every version of the community's grid plan, newest first."""
    plans = session.query(GridPlan).filter_by(community_code=community.code)
    return [PlanSummary.of(p) for p in plans.order_by(GridPlan.version.desc())]


@router.get("/plans/{plan_id}", response_model=PlanDetail)
def get_plan(plan: ScopedPlan, session: SessionDep) -> PlanDetail:
    """A plan with per-grid tallies and the rule check."""
    return plan_detail(session, plan)


@router.post("/drafts", response_model=PlanDetail, status_code=status.HTTP_201_CREATED)
def create_draft(
    community: ScopedCommunity,
    scope: PlannerDep,
    session: SessionDep,
    from_version: Annotated[
        int | None, Query(ge=1, le=PG_INT_MAX, description="copy this version, not the published")
    ] = None,
) -> PlanDetail:
    """Open the community's draft (copied from the published plan, or from ``from_version``,
    e.g. an archived one), or return the open one."""
    draft = start_draft(session, community.code, scope.actor, from_version)
    session.commit()
    return plan_detail(session, draft)


@router.delete("/plans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_draft(
    plan: ScopedPlan,
    revision: Annotated[int, Query(ge=1, le=PG_INT_MAX)],
    scope: PlannerDep,
    session: SessionDep,
) -> None:
    """Discard a draft (only drafts can be deleted)."""
    discard_draft(session, plan, revision, scope.actor)
    session.commit()


@router.post("/plans/{plan_id}/rebalance", response_model=Rebalanced)
def rebalance(
    plan: ScopedPlan, body: RebalanceRun, scope: PlannerDep, session: SessionDep
) -> Rebalanced:
    """Re-balance the draft under today's households, moving as few as possible."""
    moves = rebalance_draft(session, plan, body.revision, scope.actor, body.seed, body.best)
    session.commit()
    return Rebalanced(
        **plan_detail(session, plan).model_dump(),
        households_moved=int(moves["settled_households"].sum()),
        new_households_moved=int(moves["new_households"].sum()),
    )


@router.post("/plans/{plan_id}/divide", response_model=PlanDetail)
def divide(plan: ScopedPlan, body: DivideRun, scope: PlannerDep, session: SessionDep) -> PlanDetail:
    """Divide the draft's community into grids from scratch: every rule kept, or the plan of
    least violation (its exceptions show in the rule check); ``strict`` refuses instead."""
    divide_draft(session, plan, body.revision, scope.actor, body.seed, body.strict)
    session.commit()
    return plan_detail(session, plan)


@router.get("/plans/{plan_id}/buildings/{building_id}/neighbours", response_model=list[int])
def neighbours(
    plan: ScopedPlan, building_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)], session: SessionDep
) -> list[int]:
    """Numbers of the grids a building may be moved to."""
    return neighbour_numbers(view_plan(session, plan), building_id)


@router.post("/plans/{plan_id}/moves", response_model=PlanDetail)
def move(plan: ScopedPlan, body: Move, scope: PlannerDep, session: SessionDep) -> PlanDetail:
    """Move buildings into a neighbouring grid of the draft."""
    move_buildings(session, plan, body.building_ids, body.to_grid, body.revision, scope.actor)
    session.commit()
    return plan_detail(session, plan)


@router.post("/plans/{plan_id}/undo", response_model=PlanDetail)
def undo_last(
    plan: ScopedPlan, body: Revision, scope: PlannerDep, session: SessionDep
) -> PlanDetail:
    """Undo the draft's last edit."""
    undo(session, plan, body.revision, scope.actor)
    session.commit()
    return plan_detail(session, plan)


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    summary: str | None


class MovedBuilding(BaseModel):
    building_id: int
    name: str | None
    compound: str | None
    from_grid: str
    to_grid: str
    households: int


class Diff(BaseModel):
    published_version: int | None = None
    moved_buildings: list[MovedBuilding]
    households_changing_worker: int
    new_households_changing_grid: int = Field(
        description="Of them, households of entrances and buildings added since the published "
        "plan: placed in the grid they lie in for now, moved on by the draft."
    )


class ChangedHousehold(BaseModel):
    household_id: int
    building_id: int
    from_grid: str | None
    to_grid: str | None
    new: bool = Field(description="In an entrance or building added since the last publishing.")


class Published(BaseModel):
    version: int
    households_changing_worker: int
    new_households_changing_grid: int = Field(
        description="Of them, households of entrances and buildings added since the previous "
        "publishing: placed in the grid they lay in for now, moved on by this plan."
    )
    changed: list[ChangedHousehold] = Field(
        description="households whose grid, hence grid worker, changed"
    )


@router.get("/plans/{plan_id}/history", response_model=list[HistoryEntry])
def history(plan: ScopedPlan, session: SessionDep) -> list[dict[str, Any]]:
    """The draft's edits, newest first."""
    return [
        {"at": e.at, "actor": e.actor, "action": e.action, "summary": e.summary}
        for e in edit_history(session, plan.id)
    ]


@router.get("/plans/{plan_id}/diff", response_model=Diff)
def diff(plan: ScopedPlan, session: SessionDep) -> dict[str, Any]:
    """Buildings the draft moves and households that change grid worker, against the
    published plan."""
    return diff_against_published(session, plan)


@router.post("/plans/{plan_id}/publish", response_model=Published)
def publish_plan(
    plan: ScopedPlan, body: Publish, scope: PlannerDep, session: SessionDep
) -> dict[str, Any]:
    """Publish the draft; the previous version is archived. Rule breaks need a reason."""
    result = publish(session, plan, body.revision, scope.actor, body.reason)
    session.commit()
    return result


@router.post("/rollback", response_model=PlanSummary)
def roll_back(
    community: ScopedCommunity, body: Rollback, scope: PlannerDep, session: SessionDep
) -> PlanSummary:
    """Publish a copy of an earlier version as the newest version."""
    plan = rollback(session, community.code, body.version, scope.actor, body.reason)
    session.commit()
    return PlanSummary.of(plan)


streets = APIRouter(prefix="/streets/{street}", tags=["plans"])


class StreetDraft(BaseModel):
    community: str
    plan_id: int
    version: int
    revision: int


@streets.post("/drafts", response_model=list[StreetDraft], status_code=status.HTTP_201_CREATED)
def create_street_drafts(street: str, scope: ScopeDep, session: SessionDep) -> list[StreetDraft]:
    """Open a draft (or return the open one) for every community of a street office that the
    caller plans; 404 when there is none in their scope."""
    codes = [c for c in communities_of(session, street) if scope.sees_community(c)]
    if not codes:
        raise OutOfScope(f"街道 {street} 不存在或不在您的管辖范围内")
    planner_scope(scope)
    drafts = [start_draft(session, code, scope.actor) for code in codes]
    session.commit()
    return [
        StreetDraft(
            community=d.community_code, plan_id=d.id, version=d.version, revision=d.revision
        )
        for d in drafts
    ]
