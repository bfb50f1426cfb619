"""Staffing of grids: who serves where, posts per grid, liaison-leader groups (十联户)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.auth import PlannerDep, ScopedCommunity
from api.deps import PG_INT_MAX, SessionDep
from api.routes.plans import ScopedPlan
from data.models import StaffRole
from data.plans.staffing import assign_posts, community_staff, liaison_groups

router = APIRouter(prefix="/communities/{code}", tags=["staffing"])


class Post(BaseModel):
    staff_id: int = Field(ge=1, le=PG_INT_MAX)
    role: StaffRole


class Posts(BaseModel):
    posts: list[Post] = Field(min_length=1, max_length=30)
    revision: int | None = Field(
        None, ge=1, le=PG_INT_MAX, description="Needed when the plan is a draft."
    )


class StaffMember(BaseModel):
    id: int
    name: str
    role: StaffRole
    work_phone: str | None
    organisation: str | None
    party_member: bool
    grids: list[int] = Field(description="numbers of the published grids served")


class LiaisonGroup(BaseModel):
    building_id: int
    building: str
    compound: str
    unit: int | None
    households: int
    with_leader: int = Field(description="households that have a liaison leader")
    leaders: int
    suggested_leaders: int = Field(description="one per about ten households")
    missing_leaders: int


@router.get("/staff", response_model=list[StaffMember])
def staff(community: ScopedCommunity, session: SessionDep) -> list[dict[str, Any]]:
    """The community's grid staff (public work phones) and the published grids they serve."""
    return community_staff(session, community.code)


@router.put("/plans/{plan_id}/grids/{number}/staff", status_code=204)
def set_posts(
    plan: ScopedPlan,
    number: Annotated[int, Path(ge=1, le=999)],
    body: Posts,
    scope: PlannerDep,
    session: SessionDep,
) -> None:
    """Replace a grid's staff posts (grid chief, full-time and part-time workers, party group
    leader) in a draft or in the published plan."""
    posts = [(p.staff_id, p.role) for p in body.posts]
    assign_posts(session, plan, number, posts, scope.actor, body.revision)
    session.commit()


@router.get("/liaison-groups", response_model=list[LiaisonGroup])
def liaison(community: ScopedCommunity, session: SessionDep) -> list[dict[str, Any]]:
    """Households per building and unit entrance, with the liaison leaders they have and the
    number suggested (one per about ten households)."""
    return liaison_groups(session, community.code)
