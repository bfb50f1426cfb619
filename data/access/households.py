"""Household records (民情档案) for the staff whose duty needs them.

Personal data under China's PIPL: names, phones and ID numbers are masked unless the reader
states a reason; care tags (sensitive personal information) appear only then. Only a
community's planners and the household's own grid worker read them, and every read, masked or
not, is written to the audit log with who, what and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.access.scope import Scope
from data.models import AccountRole


class RecordsForbidden(PermissionError):
    """A role that household records are not for."""


@dataclass(frozen=True)
class Query:
    community: str
    grid: str | None = None
    building: int | None = None
    household: int | None = None
    limit: int = 50
    offset: int = 0


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧阳**: the surname stays, the given name is hidden."""
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_phone(phone: str | None) -> str | None:
    return None if not phone else phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id(number: str | None) -> str | None:
    return None if not number else number[:6] + "*" * (len(number) - 10) + number[-4:]


RECORDS = """
SELECT h.id, g.code AS grid, b.id AS building_id, b.name AS building,
       coalesce(c.name, '') AS compound, b.road || b.door_number AS address,
       u.number AS unit, h.floor, h.room, h.head_name, h.head_phone, h.id_number, h.members,
       coalesce(k.elderly_alone, false) AS elderly_alone,
       coalesce(k.low_income, false) AS low_income,
       coalesce(k.disabled, false) AS disabled,
       coalesce(k.left_behind_child, false) AS left_behind_child
FROM household h
JOIN building b ON b.id = h.building_id
LEFT JOIN compound c ON c.id = b.compound_id
LEFT JOIN unit_entrance u ON u.id = h.unit_id
JOIN grid_member m ON m.building_id = h.building_id AND (m.unit_id IS NULL OR m.unit_id = h.unit_id)
JOIN grid g ON g.id = m.grid_id
JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published'
LEFT JOIN protected.household_care k ON k.household_id = h.id
WHERE b.community_code = :community
  AND (CAST(:grid AS text) IS NULL OR g.code = :grid)
  AND (CAST(:grids AS text[]) IS NULL OR g.code = ANY(:grids))
  AND (CAST(:building AS int) IS NULL OR b.id = :building)
  AND (CAST(:household AS int) IS NULL OR h.id = :household)
ORDER BY g.code, b.id, u.number, h.floor, h.room
LIMIT :limit OFFSET :offset
"""
CARE = ("elderly_alone", "low_income", "disabled", "left_behind_child")


def read_records(
    session: Session, scope: Scope, query: Query, *, reason: str | None = None
) -> list[dict]:
    """Household records within the reader's duty; unmasked (with care tags) only with a
    reason. The read is audited in the caller's transaction (the caller commits)."""
    if scope.role not in (AccountRole.community_planner, AccountRole.grid_worker):
        raise RecordsForbidden("住户档案仅限本社区规划人员和所属网格的网格员查看")
    reveal = bool(reason and reason.strip())
    rows = session.execute(
        text(RECORDS),
        {
            "community": query.community,
            "grid": query.grid,
            "grids": sorted(scope.grid_codes) if scope.grid_codes is not None else None,
            "building": query.building,
            "household": query.household,
            "limit": query.limit,
            "offset": query.offset,
        },
    ).mappings()
    records = []
    for row in rows:
        item = dict(row)
        if not reveal:
            item["head_name"] = mask_name(item["head_name"])
            item["head_phone"] = mask_phone(item["head_phone"])
            item["id_number"] = mask_id(item["id_number"])
            for tag in CARE:
                item.pop(tag)
        records.append(item)
    record(
        session,
        scope.actor,
        "household_read_unmasked" if reveal else "household_read",
        "household",
        str(query.household) if query.household else None,
        reason=reason if reveal else None,
        detail={
            "community": query.community,
            "grid": query.grid,
            "building": query.building,
            "households": [r["id"] for r in records],
        },
    )
    return records
