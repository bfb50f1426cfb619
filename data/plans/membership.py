"""Buildings added to a community after its plans were drawn join the grid they lie in.

Every building of a community with a plan must be a member of one grid of each of its live
plans (the published one and any draft): grid membership is what gives households a grid
worker, what the address lookup follows and what the planners' views tally. A building
imported later was a member of none. Its place is already drawn on the map, though: the grid
whose boundary holds it (the nearest grid where it lies outside them all, as a point on a
community's edge may). ``place_new_buildings`` adds those rows, for every live plan, and
leaves the grid boundaries as they are; if the new households push a grid out of band, the
rule check says so and the planner re-balances (their households count as new there,
``data.plans.engine.new_since_published``). Archived versions keep the membership they had.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from sqlalchemy import Connection, text

_PLACE = text(
    """
    WITH placed AS (
      INSERT INTO grid_member (plan_id, grid_id, building_id, unit_id)
      SELECT p.id, nearest.id, b.id, NULL
        FROM building b
        JOIN grid_plan p ON p.community_code = b.community_code
                        AND p.status IN ('draft', 'published')
        CROSS JOIN LATERAL (
              SELECT g.id FROM grid g
               WHERE g.plan_id = p.id
               ORDER BY ST_Distance(g.geom, ST_PointOnSurface(b.geom)), g.number
               LIMIT 1) nearest
       WHERE b.community_code = ANY(:codes) AND b.created_at = now()
         AND NOT EXISTS (SELECT 1 FROM grid_member m
                          WHERE m.plan_id = p.id AND m.building_id = b.id)
      RETURNING plan_id, grid_id, building_id
    )
    SELECT placed.building_id, g.number AS grid
      FROM placed
      JOIN grid_plan p ON p.id = placed.plan_id AND p.status = 'published'
      JOIN grid g ON g.id = placed.grid_id
     ORDER BY g.number, placed.building_id
    """
)


def place_new_buildings(conn: Connection, community_codes: Collection[str]) -> pd.DataFrame:
    """Make every building of ``community_codes`` added in the current transaction (its
    ``created_at`` is the transaction's ``now()``) a member of the grid it lies in, in each
    live plan.

    Returns the buildings placed in the published plans (``building_id``, ``grid`` number),
    one row each, for the note the planner reads; buildings of communities with only a draft
    are placed in it too but not listed.
    """
    rows = conn.execute(_PLACE, {"codes": sorted(community_codes)}).all()
    return pd.DataFrame(rows, columns=["building_id", "grid"])


def placement_note(placed: pd.DataFrame) -> str:
    """The planner's note on buildings placed by ``place_new_buildings``, in Chinese: how many
    went to each grid of the published plan."""
    per_grid = placed.groupby("grid").size()
    grids = "，".join(f"第{grid}网格 {count} 栋" for grid, count in per_grid.items())
    return (
        f"{len(placed)} 个新楼栋已按所在位置暂编入网格（{grids}）；"
        "如有网格户数因此超出规定范围，请在草稿中“自动调整”"
    )
