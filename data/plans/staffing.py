"""Who serves which grid: staff posts, and liaison groups of about ten households (十联户)."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.models import Grid, GridPlan, GridStaff, PlanStatus, Staff, StaffRole
from data.plans.versions import InvalidEdit, lock_for_edit

GRID_ROLES = frozenset(
    {
        StaffRole.grid_chief,
        StaffRole.full_time_worker,
        StaffRole.part_time_worker,
        StaffRole.party_group_leader,
    }
)
#: Posts every grid needs: residents must have someone to call.
REQUIRED = (StaffRole.grid_chief, StaffRole.full_time_worker)
ROLE_ORDER = (
    StaffRole.grid_chief,
    StaffRole.full_time_worker,
    StaffRole.part_time_worker,
    StaffRole.party_group_leader,
)
#: 十联户: one liaison leader for about this many households of a building or unit entrance.
LIAISON_GROUP = 10


def community_staff(session: Session, community_code: str) -> list[dict]:
    """Staff of a community with the published grids each serves (liaison leaders excluded:
    they are residents, listed with their households)."""
    rows = session.execute(
        text(
            """
            SELECT s.id, s.name, s.role::text AS role, s.work_phone, s.organisation,
                   s.party_member,
                   coalesce(array_agg(g.number ORDER BY g.number)
                            FILTER (WHERE g.id IS NOT NULL), '{}') AS grids
            FROM staff s
            LEFT JOIN grid_staff gs ON gs.staff_id = s.id
            LEFT JOIN grid g ON g.id = gs.grid_id
              AND g.plan_id = (SELECT id FROM grid_plan WHERE community_code = :code
                               AND status = 'published')
            WHERE s.community_code = :code AND s.role <> 'liaison_leader'
            GROUP BY s.id ORDER BY s.role, s.name
            """
        ),
        {"code": community_code},
    ).mappings()
    return [dict(r) for r in rows]


def assign_posts(
    session: Session,
    plan: GridPlan,
    number: int,
    posts: list[tuple[int, StaffRole]],
    actor: str,
    expected_revision: int | None,
) -> None:
    """Replace the staff posts of grid ``number``: one grid chief, at most one full-time
    worker, any part-time workers, at most one party group leader; staff of the community."""
    if plan.status is PlanStatus.archived:
        raise InvalidEdit("归档方案不能修改人员")
    if plan.status is PlanStatus.draft:
        lock_for_edit(session, plan, expected_revision or 0)
    grid = session.scalar(select(Grid).where(Grid.plan_id == plan.id, Grid.number == number))
    if grid is None:
        raise InvalidEdit(f"第{number}网格不在本方案中")
    roles = [role for _, role in posts]
    if roles.count(StaffRole.grid_chief) != 1:
        raise InvalidEdit("每个网格需要且只需要一名网格长")
    for role in (StaffRole.full_time_worker, StaffRole.party_group_leader):
        if roles.count(role) > 1:
            raise InvalidEdit("专职网格员和网格党小组长每格至多一名")
    if any(role not in GRID_ROLES for role in roles):
        raise InvalidEdit("联户长按户指定，不在网格岗位中")
    ids = {staff_id for staff_id, _ in posts}
    known = set(
        session.scalars(
            select(Staff.id).where(Staff.id.in_(ids), Staff.community_code == plan.community_code)
        )
    )
    if unknown := sorted(ids - known):
        raise InvalidEdit(f"人员 {unknown} 不属于本社区")
    session.execute(delete(GridStaff).where(GridStaff.grid_id == grid.id))
    session.add_all(GridStaff(grid_id=grid.id, staff_id=s, role=r) for s, r in posts)
    if plan.status is PlanStatus.draft:
        plan.revision += 1
        plan.updated_by = actor
    record(
        session,
        actor,
        "staff_assigned",
        "grid",
        grid.code,
        detail={"plan": plan.id, "posts": [[s, r.value] for s, r in posts]},
    )


def liaison_groups(session: Session, community_code: str) -> list[dict]:
    """Groups of about ``LIAISON_GROUP`` households per building or unit entrance, with how many
    already have a liaison leader: where a new leader (联户长) is needed and for how many."""
    rows = session.execute(
        text(
            """
            SELECT b.id AS building_id, b.name AS building, coalesce(c.name, '') AS compound,
                   u.number AS unit, count(h.id)::int AS households,
                   count(l.household_id)::int AS with_leader,
                   count(DISTINCT l.staff_id)::int AS leaders
            FROM household h
            JOIN building b ON b.id = h.building_id
            LEFT JOIN compound c ON c.id = b.compound_id
            LEFT JOIN unit_entrance u ON u.id = h.unit_id
            LEFT JOIN liaison_household l ON l.household_id = h.id
            WHERE b.community_code = :code
            GROUP BY b.id, c.name, u.number ORDER BY b.id, u.number
            """
        ),
        {"code": community_code},
    ).mappings()
    groups = []
    for row in rows:
        wanted = max(1, round(row["households"] / LIAISON_GROUP))
        groups.append(
            {**row, "suggested_leaders": wanted, "missing_leaders": max(0, wanted - row["leaders"])}
        )
    return groups


def grid_posts(session: Session, plan_id: int) -> dict[int, list[dict]]:
    """Each grid's staff posts in a plan, by grid number: staff id, name, role."""
    rows = session.execute(
        text(
            """
            SELECT g.number, s.id AS staff_id, s.name, gs.role::text AS role
            FROM grid g JOIN grid_staff gs ON gs.grid_id = g.id JOIN staff s ON s.id = gs.staff_id
            WHERE g.plan_id = :plan AND gs.role <> 'liaison_leader'
            ORDER BY g.number, array_position(:roles, gs.role::text), s.name
            """
        ),
        {"plan": plan_id, "roles": [r.value for r in ROLE_ORDER]},
    ).mappings()
    posts: dict[int, list[dict]] = {}
    for row in rows:
        posts.setdefault(row["number"], []).append(
            {"staff_id": row["staff_id"], "name": row["name"], "role": row["role"]}
        )
    return posts


def unstaffed(posts: dict[int, list[dict]], numbers: list[int]) -> dict[int, list[str]]:
    """Grids of ``numbers`` without a grid chief or a full-time worker: number → the missing
    roles."""
    missing = {}
    for number in numbers:
        roles = {p["role"] for p in posts.get(number, [])}
        lacking = [r.value for r in REQUIRED if r.value not in roles]
        if lacking:
            missing[number] = lacking
    return missing


def follow_suggestions(session: Session, plan: GridPlan) -> dict[int, list[dict]]:
    """For each grid of ``plan``, the published plan's chiefs and full-time workers whose
    households mostly moved into it (the worker who would follow their households), with how
    many of their households are now in that grid, best first."""
    rows = session.execute(
        text(
            """
            WITH old AS (
              SELECT m.building_id, m.unit_id, gs.staff_id, gs.role
              FROM grid_member m JOIN grid_plan p ON p.id = m.plan_id
                AND p.community_code = :code AND p.status = 'published'
              JOIN grid_staff gs ON gs.grid_id = m.grid_id
                AND gs.role IN ('grid_chief', 'full_time_worker')
            ), moved AS (
              SELECT g.number, old.staff_id, old.role, count(h.id) AS households
              FROM grid_member m JOIN grid g ON g.id = m.grid_id
              JOIN old ON old.building_id = m.building_id
                AND old.unit_id IS NOT DISTINCT FROM m.unit_id
              JOIN household h ON h.building_id = m.building_id
                AND (m.unit_id IS NULL OR h.unit_id = m.unit_id)
              WHERE m.plan_id = :plan
              GROUP BY g.number, old.staff_id, old.role
            ), mostly AS (
              SELECT DISTINCT ON (staff_id) staff_id, number, role, households
              FROM moved ORDER BY staff_id, households DESC
            )
            SELECT mostly.number, s.id AS staff_id, s.name, mostly.role::text AS role,
                   mostly.households::int AS households
            FROM mostly JOIN staff s ON s.id = mostly.staff_id
            ORDER BY mostly.number, mostly.households DESC
            """
        ),
        {"code": plan.community_code, "plan": plan.id},
    ).mappings()
    suggestions: dict[int, list[dict]] = {}
    for row in rows:
        suggestions.setdefault(row["number"], []).append(dict(row))
    return suggestions
