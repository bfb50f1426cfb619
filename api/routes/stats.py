"""District-wide counts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SessionDep
from data.queries.stats import district_counts

router = APIRouter(tags=["stats"])


class Stats(BaseModel):
    street_offices: int
    communities: int
    compounds: int
    buildings: int
    households: int
    staff: int
    grids: int
    grids_out_of_band: int


@router.get("/stats", response_model=Stats)
def stats(session: SessionDep) -> Stats:
    """Counts of streets, communities, compounds, buildings, households, staff, published
    grids, and published grids whose households fall outside their community's band."""
    return Stats(**district_counts(session))
