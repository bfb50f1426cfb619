"""Household records for the community's planners and the household's grid worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.auth import OutOfScope, ScopedCommunity, ScopeDep
from api.deps import PG_INT_MAX, SessionDep
from data.access.households import Query as RecordQuery
from data.access.households import read_records

router = APIRouter(prefix="/communities/{code}/households", tags=["households 住户档案"])

Reason = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Why the full record is needed; without it names, "
        "phones and ID numbers are masked and care tags left out. Recorded in the audit log.",
    ),
]


def _read(session, scope, query: RecordQuery, reason: str | None) -> list[dict]:
    records = read_records(session, scope, query, reason=reason)
    session.commit()  # the audit row
    return records


class HouseholdRecord(BaseModel):
    """A household record (民情档案); name, phone and ID number masked unless a reason was
    given, and the care tags (sensitive personal information) present only then."""

    id: int
    grid: str
    building_id: int
    building: str | None
    compound: str
    address: str | None
    unit: int | None
    floor: int | None
    room: str | None
    head_name: str | None
    head_phone: str | None
    id_number: str | None
    members: int | None
    elderly_alone: bool | None = None
    low_income: bool | None = None
    disabled: bool | None = None
    left_behind_child: bool | None = None


@router.get("", response_model=list[HouseholdRecord], response_model_exclude_unset=True)
def households(
    community: ScopedCommunity,
    scope: ScopeDep,
    session: SessionDep,
    reason: Reason = None,
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{15}$")] = None,
    building: Annotated[int | None, Query(ge=1, le=PG_INT_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict]:
    """Households of the community (a grid worker sees only their grids), masked by default."""
    query = RecordQuery(community.code, grid, building, None, limit, offset)
    return _read(session, scope, query, reason)


@router.get("/{household_id}", response_model=HouseholdRecord, response_model_exclude_unset=True)
def household(
    community: ScopedCommunity,
    household_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)],
    scope: ScopeDep,
    session: SessionDep,
    reason: Reason = None,
) -> dict:
    """One household, masked unless a reason is given."""
    records = _read(session, scope, RecordQuery(community.code, household=household_id), reason)
    if not records:
        raise OutOfScope(f"住户 {household_id} 不存在或不在您的网格内")
    return records[0]
