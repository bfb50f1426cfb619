"""Hostile strings written into every text field a map or page shows (issue 13, item 2): each
field gets its own payload, labelled with the field's name, so a dialog or a raw tag in a page
says which field leaked."""

from __future__ import annotations

from sqlalchemy import text

from data.db import make_engine
from tests.planning.conftest import World

PAYLOADS = {
    "street": "<img src=x onerror=alert('street')>街道",
    "community": "`${alert('community')}`社区",
    "office": "javascript:alert('office')",
    "compound": "{{ 'wg' ~ 'ssti' }}<script>alert('compound')</script>小区",
    "building": "<img src=x onerror=alert('building')>栋",
    "road": "\"><svg onload=alert('road')>路",
    "grid": "</script><script>alert('grid')</script>网格",
    "description": "<img src=x onerror=alert('description')>范围",
    "staff": "<img src=x onerror=alert('staff')>",
    "organisation": "\"><svg onload=alert('organisation')>",
    "planner": "<script>alert('planner')</script>规划员",
    "author": "{% for x in range(3) %}<b>x</b>{% endfor %}",
}
"""Field → payload. The template syntax in ``compound`` and ``author`` must come out as
written: the pages are rendered once, never parsed as templates again."""

POISON = """
UPDATE street_office SET name = :street
WHERE code = (SELECT street_code FROM community WHERE code = :home);
UPDATE community SET name = :community, office_address = :office WHERE code = :home;
UPDATE compound SET name = name || :compound WHERE community_code = :home;
UPDATE building SET name = name || :building WHERE community_code = :home;
UPDATE road SET name = name || :road;
UPDATE grid SET name = name || :grid, description = :description
WHERE plan_id IN (SELECT id FROM grid_plan WHERE community_code = :home);
UPDATE staff SET name = name || :staff, organisation = :organisation
WHERE community_code = :home;
UPDATE account SET display_name = :planner WHERE username = 'planner';
UPDATE grid_plan SET created_by = :author WHERE community_code = :home;
"""

TAGS = ("<img src=x", "<svg onload", "<script>alert", "<b>x</b>", "wgssti")
"""Raw tags (and the evaluated template) that must never reach a page."""


def poison(world: World) -> None:
    """Write the payloads into ``world``'s community A (its street, grids, staff, ...)."""
    engine = make_engine(world.url)
    with engine.begin() as conn:
        for statement in POISON.split(";"):
            if statement.strip():
                conn.execute(text(statement), {**PAYLOADS, "home": world.home})
    engine.dispose()
