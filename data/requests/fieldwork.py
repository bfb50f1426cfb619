"""网格信息一键更新: the grid worker's household changes from the field, and the band alerts
they raise.

A grid worker changes households of buildings in their own published grids (a community
planner, of their community): a household moved in or out, its members, its care tags. Each
change is audited (who, what, which household; never the names) in the caller's transaction,
and answers the grid's household tally at once (``grid_tally`` is a view, always current) with
its band, so the planners' dashboard sees a grid leave its band on its next read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.access.households import mask_name
from data.models import AccountRole, Household, HouseholdCare
from data.requests.workflow import Caller

CARE_TAGS = {
    "elderly_alone": "独居老人",
    "low_income": "低收入",
    "disabled": "残疾人",
    "left_behind_child": "留守儿童",
}


class FieldworkError(ValueError):
    """A change that cannot be made as asked (400); the message names the field."""


class OutsideDuty(LookupError):
    """A building or household outside the caller's grids (404)."""


@dataclass(frozen=True)
class Tally:
    grid_code: str
    community_code: str
    households: int
    band_min: int
    band_max: int

    @property
    def in_band(self) -> bool:
        return self.band_min <= self.households <= self.band_max


_GRID_OF = text(
    """
    SELECT g.code, p.community_code, t.households, c.band_min, c.band_max
    FROM grid_member m
    JOIN grid g ON g.id = m.grid_id
    JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published'
    JOIN grid_tally t ON t.grid_id = g.id
    JOIN community c ON c.code = p.community_code
    WHERE m.building_id = :building
      AND (m.unit_id IS NULL OR m.unit_id IS NOT DISTINCT FROM CAST(:unit AS int))
    ORDER BY m.unit_id NULLS LAST LIMIT 1
    """
)


def _grid_of(session: Session, building_id: int, unit_id: int | None) -> Tally | None:
    """The published grid of a building (or unit) with its tally; None outside every grid."""
    row = session.execute(_GRID_OF, {"building": building_id, "unit": unit_id}).first()
    return Tally(*row) if row else None


def _tally(session: Session, building_id: int, unit_id: int | None) -> Tally:
    """The tally after a change on a building already found in the caller's grid."""
    tally = _grid_of(session, building_id, unit_id)
    if tally is None:  # the plan was unpublished in between: nothing of the change stays
        raise OutsideDuty(f"楼栋 {building_id} 已不在任何已发布的网格内")
    return tally


def _in_duty(session: Session, caller: Caller, building_id: int, unit_id: int | None) -> Tally:
    tally = _grid_of(session, building_id, unit_id)
    if tally is None or not (
        (caller.role is AccountRole.grid_worker and tally.grid_code in (caller.grid_codes or ()))
        or (
            caller.role is AccountRole.community_planner
            and tally.community_code in (caller.communities or ())
        )
    ):
        raise OutsideDuty(f"楼栋 {building_id} 不在您负责的网格内")
    return tally


def _household(session: Session, caller: Caller, household_id: int) -> tuple[Household, Tally]:
    household = session.get(Household, household_id, with_for_update=True)
    if household is None:
        raise OutsideDuty(f"住户 {household_id} 不存在或不在您负责的网格内")
    try:
        return household, _in_duty(session, caller, household.building_id, household.unit_id)
    except OutsideDuty:
        raise OutsideDuty(f"住户 {household_id} 不存在或不在您负责的网格内") from None


def _audit(session: Session, caller: Caller, action: str, household: Household, **detail) -> None:
    record(
        session,
        caller.actor,
        action,
        "household",
        str(household.id),
        detail={"building": household.building_id, "unit": household.unit_id, **detail},
    )


@dataclass(frozen=True)
class MoveIn:
    building_id: int
    unit_id: int | None
    floor: int
    room: str
    head_name: str
    head_phone: str | None
    members: int


def move_in(session: Session, caller: Caller, new: MoveIn) -> tuple[int, Tally]:
    """迁入: a new household in one of the caller's buildings; returns its id and the tally."""
    _in_duty(session, caller, new.building_id, new.unit_id)
    if not new.head_name.strip():
        raise FieldworkError("请填写户主姓名")
    if not 1 <= new.members <= 30:
        raise FieldworkError("家庭人口应为 1–30 人")
    if not new.room.strip():
        raise FieldworkError("请填写房号")
    taken = session.execute(
        text(
            "SELECT 1 FROM household WHERE building_id = :b AND unit_id IS NOT DISTINCT FROM "
            "CAST(:u AS int) AND room = :r"
        ),
        {"b": new.building_id, "u": new.unit_id, "r": new.room.strip()},
    ).first()
    if taken:
        raise FieldworkError(f"房号 {new.room} 已登记住户，请先办理迁出")
    household = Household(
        building_id=new.building_id,
        unit_id=new.unit_id,
        floor=new.floor,
        room=new.room.strip(),
        head_name=new.head_name.strip(),
        head_phone=(new.head_phone or "").strip() or None,
        members=new.members,
    )
    session.add(household)
    session.flush()
    _audit(session, caller, "household_move_in", household, members=new.members)
    return household.id, _tally(session, new.building_id, new.unit_id)


def move_out(session: Session, caller: Caller, household_id: int) -> Tally:
    """迁出: the household leaves (its record and care tags are deleted)."""
    household, _ = _household(session, caller, household_id)
    _audit(session, caller, "household_move_out", household)
    building, unit = household.building_id, household.unit_id
    session.delete(household)
    session.flush()
    return _tally(session, building, unit)


def set_members(session: Session, caller: Caller, household_id: int, members: int) -> Tally:
    """家庭人口 changed."""
    if not 1 <= members <= 30:
        raise FieldworkError("家庭人口应为 1–30 人")
    household, tally = _household(session, caller, household_id)
    _audit(session, caller, "household_members", household, before=household.members, after=members)
    household.members = members
    return tally


def set_care(session: Session, caller: Caller, household_id: int, tags: set[str]) -> Tally:
    """关爱标签 (sensitive personal information): replace the household's care tags."""
    unknown = tags - CARE_TAGS.keys()
    if unknown:
        raise FieldworkError(f"未知的关爱标签：{'、'.join(sorted(unknown))}")
    household, tally = _household(session, caller, household_id)
    care = session.get(HouseholdCare, household_id) or HouseholdCare(household_id=household_id)
    for tag in CARE_TAGS:
        setattr(care, tag, tag in tags)
    session.add(care)
    _audit(session, caller, "household_care", household, tags=sorted(tags))
    return tally


_OUT_OF_BAND = text(
    """
    SELECT p.community_code, c.name AS community, g.code, g.number, g.name, t.households,
           c.band_min, c.band_max,
           EXISTS (SELECT 1 FROM grid_plan d WHERE d.community_code = c.code
                   AND d.status = 'draft') AS has_draft
    FROM grid_plan p
    JOIN grid g ON g.plan_id = p.id
    JOIN grid_tally t ON t.grid_id = g.id
    JOIN community c ON c.code = p.community_code
    WHERE p.status = 'published'
      AND (t.households < c.band_min OR t.households > c.band_max)
      AND (CAST(:codes AS text[]) IS NULL OR p.community_code = ANY(:codes))
    ORDER BY p.community_code, g.number
    """
)


def band_alerts(session: Session, communities: frozenset[str] | None) -> list[dict]:
    """Published grids outside their community's band, for the planners' dashboard."""
    codes = sorted(communities) if communities is not None else None
    return [dict(r) for r in session.execute(_OUT_OF_BAND, {"codes": codes}).mappings()]


_AT_A_GLANCE = text(
    """
    SELECT g.code, g.number, g.name, p.community_code, t.households,
      (SELECT count(DISTINCT m.building_id) FROM grid_member m WHERE m.grid_id = g.id)::int
        AS buildings,
      (SELECT coalesce(sum(h.members), 0) FROM grid_member m JOIN household h
         ON h.building_id = m.building_id AND (m.unit_id IS NULL OR h.unit_id = m.unit_id)
       WHERE m.grid_id = g.id)::int AS residents,
      (SELECT count(*) FROM service_request r WHERE r.grid_code = g.code
         AND r.state IN ('pending', 'dispatched', 'accepted', 'in_progress'))::int
        AS open_requests,
      c.band_min, c.band_max
    FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
    JOIN grid_tally t ON t.grid_id = g.id
    JOIN community c ON c.code = p.community_code
    WHERE g.code = ANY(:codes)
    ORDER BY g.code
    """
)

_LEADERS = text(
    """
    SELECT DISTINCT s.name, s.work_phone FROM grid g
    JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
    JOIN grid_staff gs ON gs.grid_id = g.id AND gs.role = 'liaison_leader'
    JOIN staff s ON s.id = gs.staff_id
    WHERE g.code = :code ORDER BY s.name
    """
)

_BUILDINGS = text(
    """
    SELECT b.id, b.name, coalesce(cp.name, '') AS compound, b.road || b.door_number AS address,
      (SELECT count(*) FROM household h WHERE h.building_id = b.id
         AND (m.unit_id IS NULL OR h.unit_id = m.unit_id))::int AS households,
      (SELECT json_agg(json_build_object('id', u.id, 'number', u.number) ORDER BY u.number)
         FROM unit_entrance u WHERE u.building_id = b.id
           AND (m.unit_id IS NULL OR u.id = m.unit_id)) AS units
    FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
    JOIN grid_member m ON m.grid_id = g.id
    JOIN building b ON b.id = m.building_id
    LEFT JOIN compound cp ON cp.id = b.compound_id
    WHERE g.code = :code ORDER BY b.id
    """
)


def grid_glance(session: Session, caller: Caller) -> list[dict]:
    """基本情况一键查看 for a grid worker's own grids: tally and band, buildings, residents,
    liaison leaders, open requests. Household records themselves are read through
    :func:`data.access.households.read_records` (masked, audited)."""
    codes = sorted(caller.grid_codes or [])
    grids = [dict(r) for r in session.execute(_AT_A_GLANCE, {"codes": codes}).mappings()]
    for grid in grids:
        grid["leaders"] = [
            dict(r) for r in session.execute(_LEADERS, {"code": grid["code"]}).mappings()
        ]
        grid["building_list"] = [
            dict(r) for r in session.execute(_BUILDINGS, {"code": grid["code"]}).mappings()
        ]
    return grids


_CARED = text(
    """
    SELECT h.id, g.code AS grid_code, b.name AS building, u.number AS unit, h.room,
           h.head_name, h.members, k.elderly_alone, k.low_income, k.disabled,
           k.left_behind_child
    FROM protected.household_care k
    JOIN household h ON h.id = k.household_id
    JOIN building b ON b.id = h.building_id
    LEFT JOIN unit_entrance u ON u.id = h.unit_id
    JOIN grid_member m ON m.building_id = h.building_id
      AND (m.unit_id IS NULL OR m.unit_id = h.unit_id)
    JOIN grid g ON g.id = m.grid_id
    JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published'
    WHERE g.code = ANY(:codes)
      AND (k.elderly_alone OR k.low_income OR k.disabled OR k.left_behind_child)
    ORDER BY g.code, b.id, u.number, h.room
    LIMIT 500
    """
)


def care_list(session: Session, caller: Caller) -> list[dict]:
    """The care-tagged households (关爱对象) of the grid worker's own grids, names masked,
    for visits; the read is audited."""
    codes = sorted(caller.grid_codes or []) if caller.role is AccountRole.grid_worker else []
    rows = []
    for row in session.execute(_CARED, {"codes": codes}).mappings():
        item = dict(row)
        item["head_name"] = mask_name(item["head_name"])
        item["tags"] = [label for tag, label in CARE_TAGS.items() if item.pop(tag)]
        rows.append(item)
    record(
        session,
        caller.actor,
        "household_care_read",
        "household",
        None,
        reason="网格员查看本网格关爱对象",
        detail={"grids": codes, "households": [r["id"] for r in rows]},
    )
    return rows
