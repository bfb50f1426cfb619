"""Communities in the caller's scope, and the staffing dashboard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.auth import ScopeDep
from api.deps import SessionDep
from data.queries.dashboard import community_rows, street_totals

router = APIRouter(tags=["communities"])


class Tally(BaseModel):
    """What a community and a street total alike: grids, households and their staffing."""

    code: str
    name: str
    grids: int
    households: int
    grids_without_full_time_worker: int
    grids_under: int
    grids_over: int
    workers: int
    full_time_coverage: float | None


class CommunityRow(Tally):
    street_code: str
    street_name: str
    households_per_worker: float | None
    published_version: int | None
    has_draft: bool


class StreetTotals(Tally):
    communities: int


class Dashboard(BaseModel):
    communities: list[CommunityRow]
    streets: list[StreetTotals]


@router.get("/communities", response_model=list[CommunityRow])
def communities(scope: ScopeDep, session: SessionDep) -> list[dict[str, Any]]:
    """Communities the caller may see, with grid load and staffing."""
    return community_rows(session, scope.communities)


@router.get("/dashboard", response_model=Dashboard)
def dashboard(scope: ScopeDep, session: SessionDep) -> dict[str, Any]:
    """Grids without a full-time worker (target 100% covered), households per worker and grids
    out of band, per community and per street office."""
    rows = community_rows(session, scope.communities)
    return {"communities": rows, "streets": street_totals(rows)}
