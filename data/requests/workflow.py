"""Moving requests through their states: dispatch, accept, note, return, close, rate, escalate,
and the retention purge of personal fields.

Each write is checked against the caller's duty before it happens (the request in scope, the
caller its assignee or its community's dispatcher) and the request stays in scope after it
(a reassignment only to grids, volunteers and communities the caller serves). The state rules
are :mod:`data.requests.machine`'s; every change is a ``request_event`` row in the caller's
transaction (the caller commits). ``now`` is an argument so that tests control the clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.models import (
    AccountRole,
    Grid,
    GridPlan,
    GridStaff,
    PlanStatus,
    RequestEvent,
    RequestPhoto,
    ServiceRequest,
    Staff,
    StaffRole,
)
from data.requests.machine import RATINGS, Action, State, next_state
from data.requests.photos import Photo


class RequestNotFound(LookupError):
    """No request with that code in the caller's view (404)."""


class NotYourRequest(PermissionError):
    """A request the caller may see but not act on (403)."""


class BadDispatch(ValueError):
    """A reassignment to a target that does not exist or is outside the caller's duty (400)."""


@dataclass(frozen=True)
class Caller:
    """A logged-in staff member as the workflow sees them."""

    actor: str  # as the audit log and the events name them
    role: AccountRole
    communities: frozenset[str] | None  # None: the whole district
    grid_codes: frozenset[str] | None = None  # grid workers: their grids
    staff_id: int | None = None

    def sees_community(self, code: str) -> bool:
        return self.communities is None or code in self.communities

    def sees(self, req: ServiceRequest) -> bool:
        if self.role is AccountRole.grid_worker:
            mine = self.staff_id is not None and req.assignee_staff_id == self.staff_id
            return mine or (req.grid_code is not None and req.grid_code in (self.grid_codes or ()))
        return self.sees_community(req.community_code)

    def dispatches(self, req: ServiceRequest) -> bool:
        """Community planners dispatch for their community, street planners for their street."""
        return self.role in (
            AccountRole.community_planner,
            AccountRole.street_planner,
        ) and self.sees(req)

    def works(self, req: ServiceRequest) -> bool:
        """The assignee; a dispatcher for what the community or a department holds."""
        if self.staff_id is not None and req.assignee_staff_id == self.staff_id:
            return True
        return req.assignee_kind in ("community", "department") and self.dispatches(req)

    def reads_personal(self, req: ServiceRequest) -> bool:
        """The resident's phone and photos: the assignee and the community's dispatchers."""
        if self.staff_id is not None and req.assignee_staff_id == self.staff_id:
            return True
        return self.role is AccountRole.community_planner and self.sees(req)


RESIDENT = "resident"
SYSTEM = "system"


def load(session: Session, code: str, caller: Caller | None = None) -> ServiceRequest:
    """The request with tracking ``code``, locked for update; 404 when ``caller`` (if given)
    may not see it."""
    req = session.scalar(
        select(ServiceRequest).where(ServiceRequest.code == code).with_for_update()
    )
    if req is None or (caller is not None and not caller.sees(req)):
        raise RequestNotFound("诉求不存在或不在您的管辖范围内")
    return req


def _move(
    session: Session,
    req: ServiceRequest,
    action: Action,
    actor: str,
    now: datetime,
    *,
    reason: str | None = None,
    public_note: str | None = None,
) -> RequestEvent:
    before = State(req.state)
    req.state = next_state(before, action, reason).value
    event = RequestEvent(
        request_id=req.id,
        at=now,
        actor=actor,
        action=action.value,
        from_state=before.value,
        to_state=req.state,
        reason=(reason or "").strip() or None,
        public_note=public_note,
    )
    session.add(event)
    session.flush()
    return event


def _add_photos(session: Session, req: ServiceRequest, event: RequestEvent, photos) -> None:
    for p in photos:
        session.add(
            RequestPhoto(
                request_id=req.id, event_id=event.id, data=p.data, width=p.width, height=p.height
            )
        )


def _working(session: Session, caller: Caller, code: str) -> ServiceRequest:
    req = load(session, code, caller)
    if not caller.works(req):
        raise NotYourRequest("只有承办人或本社区的派单员可以办理此诉求")
    return req


def _to_community(req: ServiceRequest) -> None:
    req.assignee_kind = "community"
    req.assignee_staff_id = None
    req.assignee_department = None


def _grid_worker(session: Session, grid_code: str) -> tuple[str, int] | None:
    """(community, full-time worker's staff id) of published grid ``grid_code``."""
    row = session.execute(
        select(GridPlan.community_code, GridStaff.staff_id)
        .join(Grid, Grid.plan_id == GridPlan.id)
        .outerjoin(
            GridStaff,
            (GridStaff.grid_id == Grid.id) & (GridStaff.role == StaffRole.full_time_worker),
        )
        .where(Grid.code == grid_code, GridPlan.status == PlanStatus.published)
        .order_by(GridStaff.staff_id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class Target:
    """Where a dispatcher sends a request: ``grid`` (a grid code), ``department`` (a name from
    the configured list) or ``volunteer`` (a party member's staff id)."""

    kind: str
    value: str


def dispatch(
    session: Session,
    caller: Caller,
    code: str,
    target: Target,
    *,
    now: datetime,
    departments: list[str],
    reason: str | None = None,
) -> ServiceRequest:
    """派单 / 转派 by a dispatcher of the request's community (or street office)."""
    req = load(session, code, caller)
    if not caller.dispatches(req):
        raise NotYourRequest("只有社区或街道的派单员可以派单")
    if target.kind == "grid":
        found = _grid_worker(session, target.value)
        if found is None or not caller.sees_community(found[0]):
            raise BadDispatch(f"网格 {target.value} 不存在或不在您的管辖范围内")
        if found[1] is None:
            raise BadDispatch(f"网格 {target.value} 没有专职网格员，请改派其他网格或部门")
        req.community_code, req.grid_code = found[0], target.value
        req.assignee_kind, req.assignee_staff_id, req.assignee_department = "staff", found[1], None
        note = "已派给网格员"
    elif target.kind == "department":
        if target.value not in departments:
            raise BadDispatch(f"请选择部门：{'、'.join(departments)}")
        req.assignee_kind, req.assignee_staff_id = "department", None
        req.assignee_department = target.value
        note = f"已派给{target.value}"
    elif target.kind == "volunteer":
        known = target.value.isascii() and target.value.isdigit() and len(target.value) <= 9
        staff = session.get(Staff, int(target.value)) if known else None
        if staff is None or not staff.party_member or staff.community_code != req.community_code:
            raise BadDispatch("请选择本社区的党员干部")
        req.assignee_kind, req.assignee_staff_id, req.assignee_department = "staff", staff.id, None
        note = "已派给党员干部"
    else:
        raise BadDispatch("派单对象应为网格、部门或党员干部")
    _move(session, req, Action.dispatch, caller.actor, now, reason=reason, public_note=note)
    return req


def accept(session: Session, caller: Caller, code: str, *, now: datetime) -> ServiceRequest:
    """接单."""
    req = _working(session, caller, code)
    _move(session, req, Action.accept, caller.actor, now, public_note="承办人已接单")
    return req


def add_note(
    session: Session,
    caller: Caller,
    code: str,
    note: str,
    *,
    now: datetime,
    public: bool = True,
    photos: Sequence[Photo] = (),
) -> ServiceRequest:
    """办理进展: a note (shown to the resident when ``public``) and photos."""
    note = note.strip()
    if not note:
        raise BadDispatch("请填写办理进展")
    req = _working(session, caller, code)
    event = _move(
        session,
        req,
        Action.note,
        caller.actor,
        now,
        reason=None if public else note,
        public_note=note if public else "正在办理",
    )
    _add_photos(session, req, event, photos)
    return req


def give_back(
    session: Session, caller: Caller, code: str, reason: str, *, now: datetime
) -> ServiceRequest:
    """退回: the assignee hands the request back to the community's dispatchers."""
    req = _working(session, caller, code)
    _move(
        session,
        req,
        Action.give_back,
        caller.actor,
        now,
        reason=reason,
        public_note="已退回社区重新派单",
    )
    _to_community(req)
    return req


def close(
    session: Session,
    caller: Caller,
    code: str,
    result: str,
    *,
    now: datetime,
    internal: str | None = None,
    photos: Sequence[Photo] = (),
) -> ServiceRequest:
    """办结 with the result the resident reads (and an internal note the resident does not)."""
    result = result.strip()
    if not result:
        raise BadDispatch("请填写办理结果")
    req = _working(session, caller, code)
    event = _move(session, req, Action.close, caller.actor, now, public_note=result)
    req.result_public = result
    req.result_internal = (internal or "").strip() or None
    req.closed_at = now
    _add_photos(session, req, event, photos)
    return req


def rate(
    session: Session, code: str, rating: str, *, now: datetime, sla_hours: dict[str, float]
) -> ServiceRequest:
    """The resident's rating of a closed request; 不满意 reopens it to the community."""
    if rating not in RATINGS:
        raise BadDispatch("请选择：满意、基本满意或不满意")
    req = load(session, code)
    _move(session, req, Action.rate, RESIDENT, now, public_note=f"评价：{RATINGS[rating]}")
    req.rating = rating
    if rating == "unsatisfied":
        _move(
            session,
            req,
            Action.reopen,
            SYSTEM,
            now + timedelta(microseconds=1),
            public_note="您不满意，已转社区重新办理",
        )
        _to_community(req)
        req.level = max(req.level, 1)
        req.closed_at = None
        req.due_at = now + timedelta(hours=sla_hours.get(req.category, 72))
    return req


_ESCALATE = text(
    """
    WITH due AS (
      SELECT id, level FROM service_request
      WHERE state IN ('pending', 'dispatched', 'accepted', 'in_progress')
        AND due_at < :now AND level < 2
      ORDER BY id FOR UPDATE SKIP LOCKED
    ), up AS (
      UPDATE service_request r
      SET level = r.level + 1,
          due_at = :now + coalesce((CAST(:sla AS jsonb) ->> r.category)::float, :fallback)
                          * interval '1 hour'
      FROM due WHERE r.id = due.id
      RETURNING r.id, r.level, r.state
    )
    INSERT INTO request_event (request_id, at, actor, action, from_state, to_state, reason,
                               public_note)
    SELECT id, :now, 'system', 'escalate', state, state, '超过办理时限',
           CASE level WHEN 1 THEN '已超时，升级至社区督办' ELSE '已超时，升级至街道督办' END
    FROM up
    RETURNING request_id
    """
)


def escalate_overdue(session: Session, now: datetime, sla_hours: dict[str, float]) -> int:
    """Raise every open request past its time limit one level (the assignee → the community →
    the street office), with a new time limit of its category's (a category no longer
    configured gets the longest); returns how many moved.
    Requests locked by a concurrent write are left for the next run."""
    sla = json.dumps(sla_hours, ensure_ascii=False)
    params = {"now": now, "sla": sla, "fallback": max(sla_hours.values(), default=72.0)}
    return len(session.execute(_ESCALATE, params).all())


def purge_personal(session: Session, now: datetime, retention_days: int) -> int:
    """Drop the phone and photos of requests closed more than ``retention_days`` ago (the
    records stay, for statistics); audited; returns how many requests were purged."""
    cutoff = now - timedelta(days=retention_days)
    ids = session.scalars(
        select(ServiceRequest.id).where(
            ServiceRequest.state.in_((State.closed.value, State.rated.value)),
            ServiceRequest.closed_at < cutoff,
            ServiceRequest.purged_at.is_(None),
        )
    ).all()
    if ids:
        session.execute(delete(RequestPhoto).where(RequestPhoto.request_id.in_(ids)))
        session.query(ServiceRequest).filter(ServiceRequest.id.in_(ids)).update(
            {"phone": None, "purged_at": now}, synchronize_session=False
        )
        record(
            session,
            SYSTEM,
            "request_purge",
            "service_request",
            None,
            reason=f"保存期限 {retention_days} 天",
            detail={"requests": len(ids)},
        )
    return len(ids)
