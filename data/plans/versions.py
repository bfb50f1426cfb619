"""Grid plan versions: drafts, edits with undo, publishing, rollback (MapIt's generations).

A community has exactly one published plan; planners work on one shared draft per community.
Every edit names the draft revision it was made against (optimistic locking): an edit against
an older revision is refused with the name of whoever changed the draft since, and nothing is
written. Every edit stores the state it replaced (``plan_edit``) so it can be undone, and every
edit, publish and rollback is in the audit log.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.models import (
    Community,
    Grid,
    GridMember,
    GridPlan,
    GridStaff,
    PlanEdit,
    PlanStatus,
)


class PlanError(Exception):
    """A plan operation that cannot be done as asked; the message is for the planner."""


class PlanNotFound(PlanError):
    pass


class NotADraft(PlanError):
    pass


class StaleRevision(PlanError):
    """The draft changed since the caller read it."""

    def __init__(self, plan: GridPlan, expected: int) -> None:
        self.current = plan.revision
        self.changed_by = plan.updated_by or plan.created_by
        super().__init__(
            f"草稿已被 {self.changed_by} 修改（当前修订 {plan.revision}，"
            f"您提交的是修订 {expected}），请刷新后重试；您的修改未保存"
        )


class InvalidEdit(PlanError):
    """An edit that breaks the rules of editing (e.g. moving to a grid that is not adjacent)."""


def published_plan(session: Session, community_code: str) -> GridPlan | None:
    return session.scalar(
        select(GridPlan).where(
            GridPlan.community_code == community_code, GridPlan.status == PlanStatus.published
        )
    )


def open_draft(session: Session, community_code: str) -> GridPlan | None:
    return session.scalar(
        select(GridPlan).where(
            GridPlan.community_code == community_code, GridPlan.status == PlanStatus.draft
        )
    )


def lock_plans_of(session: Session, community_code: str) -> None:
    """Serialise the changes that create or publish a version of one community's plan (a new
    draft, publishing, rollback) on the community's row, until the transaction ends: two of them
    at once would pick the same version number or both open a draft. ``FOR NO KEY UPDATE``
    still lets rows that merely reference the community be written meanwhile."""
    session.execute(
        select(Community.code)
        .where(Community.code == community_code)
        .with_for_update(key_share=True)
    )


def plan_in_community(session: Session, community_code: str, plan_id: int) -> GridPlan:
    plan = session.get(GridPlan, plan_id)
    if plan is None or plan.community_code != community_code:
        raise PlanNotFound(f"方案 {plan_id} 不存在或已删除")
    return plan


def communities_of(session: Session, street_code: str) -> list[str]:
    return list(
        session.scalars(
            select(Community.code)
            .where(Community.street_code == street_code)
            .order_by(Community.code)
        )
    )


def _next_version(session: Session, community_code: str) -> int:
    latest = session.scalar(
        select(func.max(GridPlan.version)).where(GridPlan.community_code == community_code)
    )
    return (latest or 0) + 1


def _copy_grids(session: Session, source: GridPlan, target: GridPlan) -> None:
    """Copy grids, building/unit assignment and staff posts from one plan into another."""
    session.execute(
        text(
            """
            WITH copied AS (
              INSERT INTO grid (plan_id, code, number, name, description, geom)
              SELECT :target, code, number, name, description, geom FROM grid
              WHERE plan_id = :source
              RETURNING id, code
            ), pairs AS (
              SELECT g.id AS old_id, c.id AS new_id FROM grid g
              JOIN copied c ON c.code = g.code WHERE g.plan_id = :source
            ), members AS (
              INSERT INTO grid_member (plan_id, grid_id, building_id, unit_id)
              SELECT :target, p.new_id, m.building_id, m.unit_id
              FROM grid_member m JOIN pairs p ON p.old_id = m.grid_id
            )
            INSERT INTO grid_staff (grid_id, staff_id, role)
            SELECT p.new_id, s.staff_id, s.role
            FROM grid_staff s JOIN pairs p ON p.old_id = s.grid_id
            """
        ),
        {"source": source.id, "target": target.id},
    )


def start_draft(
    session: Session, community_code: str, actor: str, base_version: int | None = None
) -> GridPlan:
    """The community's open draft, or a new one copied from the published plan (or from
    version ``base_version``, e.g. an archived one). Planners who ask at the same moment wait
    for each other and all get the one draft."""
    lock_plans_of(session, community_code)
    draft = open_draft(session, community_code)
    if draft is not None:
        return draft
    if base_version is None:
        published = published_plan(session, community_code)
    else:
        published = session.scalar(
            select(GridPlan).where(
                GridPlan.community_code == community_code,
                GridPlan.version == base_version,
                GridPlan.status != PlanStatus.draft,
            )
        )
    if published is None:
        which = "已发布的" if base_version is None else f"第 {base_version} 版"
        raise PlanNotFound(f"社区 {community_code} 没有{which}网格方案")
    draft = GridPlan(
        community_code=community_code,
        version=_next_version(session, community_code),
        status=PlanStatus.draft,
        created_by=actor,
        note=f"基于第 {published.version} 版",
    )
    session.add(draft)
    session.flush()
    _copy_grids(session, published, draft)
    record(
        session,
        actor,
        "draft_started",
        "grid_plan",
        str(draft.id),
        detail={"community": community_code, "from_version": published.version},
    )
    return draft


def discard_draft(session: Session, plan: GridPlan, expected_revision: int, actor: str) -> None:
    lock_for_edit(session, plan, expected_revision)
    record(
        session,
        actor,
        "draft_discarded",
        "grid_plan",
        str(plan.id),
        detail={"community": plan.community_code, "version": plan.version},
    )
    # The database cascades to grids, members, staff posts and edits.
    session.execute(delete(GridPlan).where(GridPlan.id == plan.id))
    session.expunge(plan)


def lock_for_edit(session: Session, plan: GridPlan, expected_revision: int) -> None:
    """Lock the draft row and check the caller edits the revision it read; a draft deleted
    since the caller loaded it (another planner discarded it) is 404."""
    locked = session.scalar(
        select(GridPlan)
        .where(GridPlan.id == plan.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise PlanNotFound(f"方案 {plan.id} 已被其他规划人员删除，请刷新")
    if plan.status is not PlanStatus.draft:
        raise NotADraft(f"第 {plan.version} 版已{_STATUS_ZH[plan.status]}，只能修改草稿")
    if plan.revision != expected_revision:
        raise StaleRevision(plan, expected_revision)


_STATUS_ZH = {PlanStatus.draft: "是草稿", PlanStatus.published: "发布", PlanStatus.archived: "归档"}


def plan_state(session: Session, plan_id: int) -> dict[str, Any]:
    """Everything an edit may change in a draft, as JSON (for undo)."""
    grids = session.execute(
        text(
            "SELECT code, number, name, description, ST_AsEWKT(geom) AS geom FROM grid "
            "WHERE plan_id = :p ORDER BY code"
        ),
        {"p": plan_id},
    ).mappings()
    members = session.execute(
        text(
            "SELECT m.building_id, m.unit_id, g.code FROM grid_member m "
            "JOIN grid g ON g.id = m.grid_id WHERE m.plan_id = :p ORDER BY 1, 2"
        ),
        {"p": plan_id},
    ).all()
    staff = session.execute(
        text(
            "SELECT g.code, s.staff_id, s.role::text FROM grid_staff s "
            "JOIN grid g ON g.id = s.grid_id WHERE g.plan_id = :p ORDER BY 1, 2"
        ),
        {"p": plan_id},
    ).all()
    return {
        "grids": [dict(g) for g in grids],
        "members": [list(m) for m in members],
        "staff": [list(s) for s in staff],
    }


def restore_state(session: Session, plan_id: int, state: dict[str, Any]) -> None:
    """Replace a draft's grids, assignment and staff posts with a saved state."""
    session.execute(delete(Grid).where(Grid.plan_id == plan_id))
    ids: dict[str, int] = {}
    for grid in state["grids"]:
        ids[grid["code"]] = session.execute(
            text(
                "INSERT INTO grid (plan_id, code, number, name, description, geom) "
                "VALUES (:p, :code, :number, :name, :description, ST_GeomFromEWKT(:geom)) "
                "RETURNING id"
            ),
            {"p": plan_id, **grid},
        ).scalar_one()
    if state["members"]:
        session.execute(
            cast(Table, GridMember.__table__).insert(),
            [
                {"plan_id": plan_id, "grid_id": ids[code], "building_id": b, "unit_id": u}
                for b, u, code in state["members"]
            ],
        )
    if state["staff"]:
        session.execute(
            cast(Table, GridStaff.__table__).insert(),
            [{"grid_id": ids[code], "staff_id": s, "role": r} for code, s, r in state["staff"]],
        )


def begin_edit(
    session: Session, plan: GridPlan, expected_revision: int, actor: str, action: str, summary: str
) -> None:
    """Lock and check the draft, and save the state the edit is about to replace."""
    lock_for_edit(session, plan, expected_revision)
    session.add(
        PlanEdit(
            plan_id=plan.id,
            actor=actor,
            action=action,
            summary=summary,
            before=plan_state(session, plan.id),
        )
    )


def finish_edit(
    session: Session, plan: GridPlan, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Bump the revision and log the edit."""
    plan.revision += 1
    plan.updated_by = actor
    record(
        session,
        actor,
        action,
        "grid_plan",
        str(plan.id),
        detail={"community": plan.community_code, "revision": plan.revision, **detail},
    )
    session.flush()


def undo(session: Session, plan: GridPlan, expected_revision: int, actor: str) -> str:
    """Undo the draft's last edit; returns what was undone."""
    lock_for_edit(session, plan, expected_revision)
    last = session.scalar(
        select(PlanEdit).where(PlanEdit.plan_id == plan.id).order_by(PlanEdit.id.desc()).limit(1)
    )
    if last is None:
        raise InvalidEdit("没有可以撤销的修改")
    restore_state(session, plan.id, last.before)
    summary = last.summary
    session.delete(last)
    finish_edit(session, plan, actor, "undo", {"undone": summary})
    return summary


def edit_history(session: Session, plan_id: int) -> list[PlanEdit]:
    return list(
        session.scalars(
            select(PlanEdit).where(PlanEdit.plan_id == plan_id).order_by(PlanEdit.id.desc())
        )
    )


def archive_published(session: Session, community_code: str) -> GridPlan | None:
    """Archive the community's published plan, if any (before another is published)."""
    current = published_plan(session, community_code)
    if current is not None:
        current.status = PlanStatus.archived
        session.flush()
    return current


def make_published(session: Session, plan: GridPlan, actor: str) -> None:
    plan.status = PlanStatus.published
    # the database's clock, which also stamps the entrances and buildings added since
    # (``data.plans.engine.new_since_published`` compares the two)
    plan.published_at = func.now()
    plan.updated_by = actor
    plan.revision += 1
    session.execute(delete(PlanEdit).where(PlanEdit.plan_id == plan.id))
    session.flush()


def copy_as_new_version(session: Session, source: GridPlan, actor: str, note: str) -> GridPlan:
    """A new version holding a copy of ``source`` (used to roll back to an archived version)."""
    plan = GridPlan(
        community_code=source.community_code,
        version=_next_version(session, source.community_code),
        status=PlanStatus.draft,
        created_by=actor,
        note=note,
    )
    session.add(plan)
    session.flush()
    _copy_grids(session, source, plan)
    return plan


def version_history(session: Session, community_code: str) -> list[dict[str, Any]]:
    """Every version of a community's plan, newest first: who made and published it, when, and
    why (the reason recorded when it was published or rolled back, else its note)."""
    rows = session.execute(
        text(
            """
            SELECT p.id, p.version, p.status::text AS status, p.created_by, p.created_at,
                   p.updated_by, p.published_at, p.note,
                   (SELECT a.reason FROM audit_log a
                    WHERE a.object_type = 'grid_plan' AND a.object_id = p.id::text
                      AND a.action IN ('publish', 'rollback')
                    ORDER BY a.at DESC LIMIT 1) AS reason,
                   (SELECT count(*) FROM grid g WHERE g.plan_id = p.id)::int AS grids
            FROM grid_plan p WHERE p.community_code = :code
            ORDER BY p.version DESC
            """
        ),
        {"code": community_code},
    ).mappings()
    return [dict(r) for r in rows]
