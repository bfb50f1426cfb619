"""A resident's new request, routed and stored in one round trip (信息中心一键派单).

Routing happens in the same SQL statement that stores the request: the published grid covering
the point (the lowest code where the point lies on a border between grids) and that grid's
full-time worker get it at once (已派单); a point outside every grid, or a grid without a
full-time worker, goes to the nearest community's dispatchers (待受理). A point farther than the
service radius from every community (the sea, another county) is refused and nothing is written.

Takes a psycopg (3) async connection from the app's pool, like :mod:`data.queries.lookup`:
submissions are the residents' hot write path.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

from data.queries.lookup import building_for_address
from data.requests.machine import State
from data.requests.photos import Photo
from geo.address import AddressQuery

MAX_TEXT = 2000
PHONE_CHARS = frozenset("0123456789-+ ")

_SUBMIT = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490) AS g),
hit AS (
  SELECT g.code, p.community_code,
    (SELECT gs.staff_id FROM grid_staff gs
     WHERE gs.grid_id = g.id AND gs.role = 'full_time_worker'
     ORDER BY gs.staff_id LIMIT 1) AS worker
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published', pt
  WHERE ST_Intersects(g.geom, pt.g)
  ORDER BY g.code LIMIT 1
),
route AS (
  SELECT community_code, code AS grid_code, worker, 0.0 AS distance_m FROM hit
  UNION ALL
  -- Only when no grid covers the point (a one-time filter: not computed otherwise).
  SELECT near.code, NULL, NULL, ST_Distance(near.geom::geography, pt.g::geography)
  FROM (SELECT c.code, c.geom FROM community c, pt ORDER BY c.geom <-> pt.g LIMIT 1) near, pt
  WHERE NOT EXISTS (SELECT 1 FROM hit)
),
ins AS (
  INSERT INTO service_request (code, category, body, geom, community_code, grid_code,
    assignee_kind, assignee_staff_id, state, created_at, due_at, phone)
  SELECT %(code)s, %(category)s, %(body)s, pt.g, r.community_code, r.grid_code,
    CASE WHEN r.worker IS NULL THEN 'community' ELSE 'staff' END, r.worker,
    CASE WHEN r.worker IS NULL THEN 'pending' ELSE 'dispatched' END,
    %(now)s, %(now)s + %(sla_h)s * interval '1 hour', %(phone)s
  FROM route r, pt
  WHERE r.grid_code IS NOT NULL OR r.distance_m <= %(radius)s
  RETURNING id, community_code, grid_code, assignee_staff_id, state, due_at
),
ev AS (
  INSERT INTO request_event (request_id, at, actor, action, from_state, to_state, public_note)
  SELECT id, %(now)s, 'resident', 'submit', NULL, 'pending', '已收到您的诉求' FROM ins
  UNION ALL
  SELECT id, %(now)s + interval '1 microsecond', 'system', 'dispatch', 'pending', 'dispatched',
    '已派给所在网格的专职网格员' FROM ins WHERE state = 'dispatched'
)
SELECT ins.id, ins.community_code, ins.grid_code, ins.state, ins.due_at, s.name, c.name
FROM ins JOIN community c ON c.code = ins.community_code
LEFT JOIN staff s ON s.id = ins.assignee_staff_id
"""

_PHOTO = "INSERT INTO request_photo (request_id, data, width, height) VALUES (%s, %s, %s, %s)"

_ADDRESS_POINT = """
SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM building WHERE id = %s) b
"""


class BadRequest(ValueError):
    """A report the resident can correct; the message says what."""


class OutOfArea(BadRequest):
    """The point lies far from every community."""


@dataclass(frozen=True)
class Report:
    category: str
    text: str
    lon: float  # EPSG:4490
    lat: float
    phone: str | None = None


@dataclass(frozen=True)
class Submitted:
    id: int
    code: str
    community_code: str
    grid_code: str | None
    state: State
    due_at: datetime
    assignee_name: str | None
    community_name: str


def new_code() -> str:
    """An unguessable tracking code: 96 random bits, URL-safe (16 characters)."""
    return secrets.token_urlsafe(12)


def check_report(report: Report, categories: dict[str, float]) -> Report:
    """The report with its text and phone trimmed; raises :class:`BadRequest` naming the field."""
    if report.category not in categories:
        raise BadRequest(f"请选择诉求类别：{'、'.join(categories)}")
    text = report.text.strip()
    if not text:
        raise BadRequest("请填写诉求内容")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"诉求内容不能超过 {MAX_TEXT} 字")
    phone = (report.phone or "").strip() or None
    if phone is not None and (
        not set(phone) <= PHONE_CHARS or not 5 <= sum(c.isdigit() for c in phone) <= 15
    ):
        raise BadRequest("回访电话格式不正确（只能包含数字，5–15 位）")
    return Report(report.category, text, report.lon, report.lat, phone)


async def point_of_address(conn: AsyncConnection, query: AddressQuery) -> tuple[float, float]:
    """A point (EPSG:4490) on the building an address names; raises :class:`BadRequest`."""
    found = await building_for_address(conn, query)
    if found is None:
        raise BadRequest(f"未找到地址“{query.text}”，请在地图上点选位置")
    cur = await conn.execute(_ADDRESS_POINT, (found[0],))
    [(x, y)] = await cur.fetchall()
    return float(x), float(y)


async def submit(
    conn: AsyncConnection,
    report: Report,
    *,
    now: datetime,
    sla_hours: float,
    radius_m: float,
    photos: Sequence[Photo] = (),
) -> Submitted:
    """Route and store a checked report (and its photos) in one transaction."""
    code = new_code()
    params = {
        "lon": report.lon,
        "lat": report.lat,
        "code": code,
        "category": report.category,
        "body": report.text,
        "phone": report.phone,
        "now": now,
        "sla_h": sla_hours,
        "radius": radius_m,
    }
    # Without photos the one statement is the whole transaction on an autocommit connection
    # (the app's pool): no BEGIN and COMMIT round trips on the residents' hot path.
    one_statement = not photos and conn.autocommit
    async with nullcontext() if one_statement else conn.transaction():
        cur = await conn.execute(_SUBMIT, params, prepare=True)
        row = await cur.fetchone()
        if row is None:
            raise OutOfArea("该位置不在本区任何社区附近（可能在水面或区外），请在地图上重新选择")
        request_id, community, grid, state, due_at, assignee, community_name = row
        if photos:
            async with conn.cursor() as photo_cur:
                await photo_cur.executemany(
                    _PHOTO, [(request_id, p.data, p.width, p.height) for p in photos]
                )
    return Submitted(
        request_id, code, community, grid, State(state), due_at, assignee, community_name
    )
