"""Reading requests: the resident's tracking view, the staff's inbox and detail, the heat map
cells and the export rows (the dashboards: :mod:`data.requests.dashboard`).

Personal fields (the resident's phone, the photos) are shown only to those
:meth:`Caller.reads_personal` allows, masked for everyone else, and every unmasked read is
written to ``audit_log`` in the caller's transaction (the caller commits).
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2.shape import to_shape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.access.households import mask_phone
from data.models import RequestEvent, RequestPhoto, ServiceRequest, Staff
from data.requests.machine import ACTION_LABELS, OPEN, RATINGS, STATE_LABELS, Action, State
from data.requests.workflow import Caller, RequestNotFound, load

LEVEL_LABELS = {0: "", 1: "社区督办", 2: "街道督办"}


def _steps(session: Session, request_id: int, *, staff: bool) -> list[dict]:
    """The request's steps in order; ``staff`` adds who acted and the (internal) reason."""
    events = session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id == request_id)
        .order_by(RequestEvent.at, RequestEvent.id)
    )
    steps = []
    for e in events:
        step = {
            "at": e.at,
            "action": ACTION_LABELS[Action(e.action)],
            "state_label": STATE_LABELS[State(e.to_state)],
            "note": e.public_note,
        }
        if staff:
            step |= {"actor": e.actor, "reason": e.reason}
        steps.append(step)
    return steps


def tracking(session: Session, code: str) -> dict:
    """What the resident's tracking page shows: no phone, no photos, no internal notes."""
    req = session.scalar(select(ServiceRequest).where(ServiceRequest.code == code))
    if req is None:
        raise RequestNotFound("没有这个查询码的诉求，请核对后重试")
    state = State(req.state)
    return {
        "code": req.code,
        "category": req.category,
        "text": req.body,
        "state": state.value,
        "state_label": STATE_LABELS[state],
        "created_at": req.created_at,
        "due_at": req.due_at,
        "result": req.result_public,
        "rating": RATINGS.get(req.rating or ""),
        "can_rate": state is State.closed,
        "steps": _steps(session, req.id, staff=False),
    }


def _assignee(session: Session, req: ServiceRequest) -> str:
    if req.assignee_kind == "department":
        return req.assignee_department or "部门"
    if req.assignee_kind == "community":
        return "社区派单员"
    staff = session.get(Staff, req.assignee_staff_id) if req.assignee_staff_id else None
    return staff.name if staff else "—"


def summary(req: ServiceRequest, now: datetime) -> dict:
    """The fields of a request any staff member in scope may read (no personal data)."""
    state = State(req.state)
    return {
        "code": req.code,
        "category": req.category,
        "text": req.body,
        "state": state.value,
        "state_label": STATE_LABELS[state],
        "grid_code": req.grid_code,
        "community_code": req.community_code,
        "assignee_kind": req.assignee_kind,
        "level": req.level,
        "level_label": LEVEL_LABELS[req.level],
        "created_at": req.created_at,
        "due_at": req.due_at,
        "overdue": state in OPEN and req.due_at < now,
    }


def detail(session: Session, caller: Caller, code: str, now: datetime) -> dict:
    """One request for a staff member: the phone unmasked and the photos listed only for the
    assignee and the community's dispatchers (that read is audited), masked otherwise."""
    req = load(session, code, caller)
    personal = caller.reads_personal(req)
    photos = session.scalars(
        select(RequestPhoto.id).where(RequestPhoto.request_id == req.id).order_by(RequestPhoto.id)
    ).all()
    point = to_shape(req.geom)
    x, y = point.x, point.y
    item = summary(req, now) | {
        "lon": round(x, 6),
        "lat": round(y, 6),
        "assignee": _assignee(session, req),
        "result": req.result_public,
        "result_internal": req.result_internal,
        "rating": RATINGS.get(req.rating or ""),
        "phone": req.phone if personal else mask_phone(req.phone),
        "photos": list(photos) if personal else [],
        "photo_count": len(photos),
        "may_work": caller.works(req),
        "may_dispatch": caller.dispatches(req),
        "steps": _steps(session, req.id, staff=True),
    }
    if personal and (req.phone or photos):
        record(
            session,
            caller.actor,
            "request_personal_read",
            "service_request",
            req.code,
            detail={"phone": bool(req.phone), "photos": len(photos)},
        )
    return item


def photo(session: Session, caller: Caller, code: str, photo_id: int) -> bytes:
    """One photo's JPEG bytes, for those who read personal fields; audited."""
    req = load(session, code, caller)
    data = session.scalar(
        select(RequestPhoto.data).where(
            RequestPhoto.id == photo_id, RequestPhoto.request_id == req.id
        )
    )
    if data is None or not caller.reads_personal(req):
        raise RequestNotFound("照片不存在或您无权查看")
    record(session, caller.actor, "request_photo_read", "request_photo", str(photo_id))
    return data


_INBOX_COLUMNS = """
    SELECT r.id, r.code, r.category, r.body, r.state, r.level, r.grid_code, r.due_at,
           r.created_at, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat, r.due_at < :now AS overdue
    FROM service_request r
    WHERE r.state IN ('pending', 'dispatched', 'accepted', 'in_progress')
"""
_INBOX_MINE = _INBOX_COLUMNS + "  AND r.assignee_staff_id = :staff"
_INBOX_COMMUNITY = (
    _INBOX_COLUMNS
    + "  AND r.community_code = ANY(:communities) AND (r.assignee_kind <> 'staff' OR r.level > 0)"
)
# Overdue first, then the nearest time limit: that is the time limit's own order (every
# overdue request's limit is before every other's), which the open-request indexes hold, so a
# worker's inbox is read in order and stops at the limit.
_INBOX_ORDER = "\nORDER BY due_at, id LIMIT :limit"


def inbox(session: Session, caller: Caller, now: datetime, *, limit: int = 200) -> list[dict]:
    """Open requests the caller should act on, most urgent first (overdue, then the nearest
    time limit): a worker's own; for a dispatcher also what the community or a department
    holds and whatever has escalated. Each part is its own indexed query (an OR across them
    would scan the year's requests)."""
    parts = [_INBOX_MINE]
    if caller.role.value in ("community_planner", "street_planner"):
        parts.append(_INBOX_COMMUNITY)
    sql = "SELECT * FROM (" + "\nUNION\n".join(parts) + ") r" + _INBOX_ORDER
    rows = session.execute(
        text(sql),
        {
            "now": now,
            "staff": caller.staff_id or -1,
            "communities": sorted(caller.communities or []),
            "limit": limit,
        },
    ).mappings()
    return [
        {k: v for k, v in r.items() if k != "id"}
        | {
            "state_label": STATE_LABELS[State(r["state"])],
            "level_label": LEVEL_LABELS[r["level"]],
            "lon": round(r["lon"], 6),
            "lat": round(r["lat"], 6),
        }
        for r in rows
    ]


_HEAT = text(
    """
    SELECT ST_X(c) AS lon, ST_Y(c) AS lat, n FROM (
      SELECT ST_Centroid(ST_Collect(geom)) AS c, count(*)::int AS n
      FROM service_request
      WHERE (CAST(:codes AS text[]) IS NULL OR community_code = ANY(:codes))
        AND created_at >= :since
      GROUP BY ST_SnapToGrid(geom, :cell, :cell)
    ) s ORDER BY n DESC LIMIT 5000
    """
)


def heat_cells(
    session: Session, communities: frozenset[str] | None, since: datetime, cell_deg: float = 0.002
) -> list[tuple[float, float, int]]:
    """Requests counted per cell of ``cell_deg`` degrees (about 200 m), at the cell's centre of
    requests: the planners' heat map. Counts only, no request's text or person."""
    params = {
        "codes": sorted(communities) if communities is not None else None,
        "since": since,
        "cell": cell_deg,
    }
    return [(r.lon, r.lat, r.n) for r in session.execute(_HEAT, params)]


EXPORT_COLUMNS = (
    "code",
    "category",
    "state",
    "community_code",
    "grid_code",
    "level",
    "created_at",
    "due_at",
    "closed_at",
    "result_public",
    "rating",
)

_EXPORT = """
SELECT r.code, r.category, r.state, r.community_code, r.grid_code, r.level, r.created_at,
       r.due_at, r.closed_at, r.result_public, r.rating, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
       r.body AS text, r.phone
FROM service_request r
WHERE (CAST(:codes AS text[]) IS NULL OR r.community_code = ANY(:codes))
  AND r.created_at >= :since AND r.created_at < :until
ORDER BY r.id
"""


def export_rows(
    session: Session,
    caller: Caller,
    *,
    since: datetime,
    until: datetime,
    personal: bool,
) -> list[dict]:
    """Requests in the caller's scope for the city platform, coordinates in EPSG:4490. The
    resident's text and phone only with ``personal`` and only for a community planner (their
    community's dispatcher); such an export is audited."""
    personal = personal and caller.role.value == "community_planner"
    params = {
        "codes": sorted(caller.communities) if caller.communities is not None else None,
        "since": since,
        "until": until,
    }
    rows = [dict(r) for r in session.execute(text(_EXPORT), params).mappings()]
    if caller.role.value == "grid_worker":
        rows = [r for r in rows if r["grid_code"] in (caller.grid_codes or ())]
    for row in rows:
        if not personal:
            row.pop("text")
            row.pop("phone")
    if personal:
        record(
            session,
            caller.actor,
            "request_export_personal",
            "service_request",
            None,
            detail={"rows": len(rows)},
        )
    return rows
