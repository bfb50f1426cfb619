"""Re-balancing a draft places the households of entrances built since the published plan
without counting them as moved: they have no grid worker yet."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from data.models import Community
from data.plans.engine import changed_households, new_since_published, rebalance_draft
from data.plans.versions import published_plan, start_draft

NEW_HOUSEHOLDS = 400

# A new stairwell entrance of 400 flats on grid 1's tallest tower, its households added as the
# household import adds them (a plain insert, no grid_member row).
NEW_ENTRANCE = """
WITH tower AS (
  SELECT m.building_id FROM grid_member m JOIN grid g ON g.id = m.grid_id
  WHERE m.plan_id = :plan AND g.number = 1
  ORDER BY (SELECT floors FROM building b WHERE b.id = m.building_id) DESC, m.building_id
  LIMIT 1
)
INSERT INTO unit_entrance (building_id, number, dwellings)
SELECT t.building_id, (SELECT max(number) + 1 FROM unit_entrance u
                       WHERE u.building_id = t.building_id), :count
FROM tower t RETURNING id, building_id
"""
HOUSEHOLDS = """
INSERT INTO household (building_id, unit_id, floor, room, head_name, members)
SELECT :building, :unit, 1 + n / 8, 'N' || n, '新住户' || n, 2 FROM generate_series(0, :count - 1) n
"""


def test_households_of_an_entrance_built_since_publishing_are_not_counted_as_moved(
    session: Session,
) -> None:
    code = session.scalars(select(Community.code).order_by(Community.code)).first()
    assert code is not None
    published = published_plan(session, code)
    assert published is not None and published.published_at is not None
    unit, building = session.execute(
        text(NEW_ENTRANCE), {"plan": published.id, "count": NEW_HOUSEHOLDS}
    ).one()
    session.execute(text(HOUSEHOLDS), {"building": building, "unit": unit, "count": NEW_HOUSEHOLDS})
    new = new_since_published(session, code)
    assert new.units == [unit], "the sample's entrances predate its plan"
    assert new.buildings == [], "the sample's buildings predate its plan"

    draft = start_draft(session, code, "planner")
    moves = rebalance_draft(session, draft, draft.revision, "planner")

    assert unit in set(moves["unit_id"]), "the new entrance leaves its crowded grid for free"
    logged = session.scalar(
        text(
            "SELECT detail FROM audit_log WHERE action = 'rebalance' AND object_id = :plan "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"plan": str(draft.id)},
    )
    changed = changed_households(session, published.id, draft.id)
    newcomers = session.scalars(text("SELECT id FROM household WHERE unit_id = :u"), {"u": unit})
    settled = changed[~changed["household_id"].isin(list(newcomers))]
    assert logged["households_moved"] == len(settled)
    assert logged["new_households_moved"] == NEW_HOUSEHOLDS
    assert moves["settled_households"].sum() == len(settled)
