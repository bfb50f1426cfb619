"""Staffing and load figures per community and street office, from the published plans."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

PER_COMMUNITY = text(
    """
    WITH grids AS (
      SELECT p.community_code, g.id, t.households,
             EXISTS (SELECT 1 FROM grid_staff s WHERE s.grid_id = g.id
                     AND s.role = 'full_time_worker') AS has_worker,
             (SELECT count(*) FROM grid_staff s WHERE s.grid_id = g.id
                AND s.role IN ('full_time_worker', 'part_time_worker')) AS workers
      FROM grid_plan p JOIN grid g ON g.plan_id = p.id JOIN grid_tally t ON t.grid_id = g.id
      WHERE p.status = 'published'
    )
    SELECT c.code, c.name, c.street_code, s.name AS street_name,
           count(g.id)::int AS grids,
           coalesce(sum(g.households), 0)::int AS households,
           count(g.id) FILTER (WHERE NOT g.has_worker)::int AS grids_without_full_time_worker,
           count(g.id) FILTER (WHERE g.households < c.band_min)::int AS grids_under,
           count(g.id) FILTER (WHERE g.households > c.band_max)::int AS grids_over,
           coalesce(sum(g.workers), 0)::int AS workers,
           (SELECT p.version FROM grid_plan p WHERE p.community_code = c.code
              AND p.status = 'published') AS published_version,
           EXISTS (SELECT 1 FROM grid_plan p WHERE p.community_code = c.code
              AND p.status = 'draft') AS has_draft
    FROM community c JOIN street_office s ON s.code = c.street_code
    LEFT JOIN grids g ON g.community_code = c.code
    WHERE c.code = ANY(:codes) OR :all_codes
    GROUP BY c.code, s.name
    ORDER BY c.code
    """
)


def community_rows(session: Session, codes: frozenset[str] | None) -> list[dict]:
    """One row per community in ``codes`` (None: all) with grids, load and staffing."""
    rows = session.execute(
        PER_COMMUNITY, {"codes": sorted(codes or []), "all_codes": codes is None}
    ).mappings()
    result = []
    for mapping in rows:
        row = dict(mapping)
        row["full_time_coverage"] = (
            round(1 - row["grids_without_full_time_worker"] / row["grids"], 3)
            if row["grids"]
            else None
        )
        row["households_per_worker"] = (
            round(row["households"] / row["workers"], 1) if row["workers"] else None
        )
        result.append(row)
    return result


def street_totals(rows: list[dict]) -> list[dict]:
    """The community rows summed per street office."""
    streets: dict[str, dict] = {}
    for row in rows:
        total = streets.setdefault(
            row["street_code"],
            {
                "code": row["street_code"],
                "name": row["street_name"],
                "communities": 0,
                "grids": 0,
                "households": 0,
                "grids_without_full_time_worker": 0,
                "grids_under": 0,
                "grids_over": 0,
                "workers": 0,
            },
        )
        total["communities"] += 1
        for key in (
            "grids",
            "households",
            "grids_without_full_time_worker",
            "grids_under",
            "grids_over",
            "workers",
        ):
            total[key] += row[key]
    for total in streets.values():
        grids = total["grids"]
        total["full_time_coverage"] = (
            round(1 - total["grids_without_full_time_worker"] / grids, 3) if grids else None
        )
    return list(streets.values())
