"""District-wide counts for the stats endpoint and the CLI."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

COUNTS = text(
    """
    SELECT
      (SELECT count(*) FROM street_office) AS street_offices,
      (SELECT count(*) FROM community) AS communities,
      (SELECT count(*) FROM compound) AS compounds,
      (SELECT count(*) FROM building) AS buildings,
      (SELECT count(*) FROM household) AS households,
      (SELECT count(*) FROM staff) AS staff,
      (SELECT count(*) FROM grid g JOIN grid_plan p ON p.id = g.plan_id
        WHERE p.status = 'published') AS grids,
      (SELECT count(*) FROM grid_tally t
        JOIN grid_plan p ON p.id = t.plan_id AND p.status = 'published'
        JOIN community c ON c.code = p.community_code
        WHERE t.households < c.band_min OR t.households > c.band_max) AS grids_out_of_band
    """
)


def district_counts(session: Session) -> dict[str, int]:
    """Counts of the administrative ladder and of published grids outside their band."""
    return dict(session.execute(COUNTS).mappings().one())


def is_empty(session: Session) -> bool:
    """True when no district has been loaded yet."""
    return session.execute(text("SELECT NOT EXISTS (SELECT 1 FROM district)")).scalar_one()
