"""Fixtures for the work loop: a fresh copy of the fixture district with accounts for two grid
workers of neighbouring grids, the community's dispatcher, a street planner and an admin; the
points to report at (inside each grid, on their border, outside every grid, in the sea); and a
helper that answers the human check the way a resident would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from data.access.accounts import create_account
from data.db import make_engine
from data.models import AccountRole
from data.requests.humancheck import DIGITS
from data.settings import Settings

PASSWORD = "correct horse battery"

# Two neighbouring published grids that each have a full-time worker (A has the lower code),
# a point inside each, a point on their shared border, a point outside every grid (beyond
# the community boundary, within the service radius) and the community's code.
PLACES = """
WITH g AS (
  SELECT g.id, g.code, g.geom,
    (SELECT gs.staff_id FROM grid_staff gs WHERE gs.grid_id = g.id
       AND gs.role = 'full_time_worker' ORDER BY gs.staff_id LIMIT 1) AS worker
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
), pair AS (
  SELECT a.code AS a_code, a.worker AS a_worker, b.code AS b_code, b.worker AS b_worker,
    a.geom AS a_geom, b.geom AS b_geom,
    ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom),
                                                      ST_Boundary(b.geom)), 2)) AS border
  FROM g a JOIN g b ON a.code < b.code AND ST_Touches(a.geom, b.geom)
  WHERE a.worker IS NOT NULL AND b.worker IS NOT NULL
    AND ST_Length(ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom),
                                                       ST_Boundary(b.geom)), 2)) > 0.001
  ORDER BY a.code, b.code LIMIT 1
), c AS (SELECT code, geom FROM community ORDER BY code LIMIT 1)
SELECT a_code, a_worker, b_code, b_worker,
  ST_X(ST_PointOnSurface(a_geom)), ST_Y(ST_PointOnSurface(a_geom)),
  ST_X(ST_PointOnSurface(b_geom)), ST_Y(ST_PointOnSurface(b_geom)),
  ST_X(ST_LineInterpolatePoint(ST_GeometryN(border, 1), 0.5)),
  ST_Y(ST_LineInterpolatePoint(ST_GeometryN(border, 1), 0.5)),
  ST_XMax(c.geom) + 0.004, (ST_YMin(c.geom) + ST_YMax(c.geom)) / 2,
  c.code,
  (SELECT code FROM g WHERE worker IS NULL ORDER BY code LIMIT 1)
FROM pair, c
"""


@dataclass
class Work:
    """The test's database and app, the places to report at, and a client per account."""

    url: str
    app: object
    a: str  # grid code of worker A
    b: str  # grid code of worker B (a neighbour of A)
    in_a: tuple[float, float]
    in_b: tuple[float, float]
    border: tuple[float, float]
    outside: tuple[float, float]
    community: str
    unstaffed: str | None  # a published grid without a full-time worker
    clients: dict[str, TestClient] = field(default_factory=dict)

    def sql(self, query: str, **params) -> list:
        engine = make_engine(self.url)
        with engine.connect() as conn:
            rows = conn.execute(text(query), params).all()
        engine.dispose()
        return rows

    def report(self, point, *, client: TestClient | None = None, files=None, **fields):
        """Submit a report at ``point`` (EPSG:4490) the way the page does; returns the
        response."""
        client = client or self.clients["anonymous"]
        check = client.get("/api/v1/requests/check").json()
        data = {
            "category": "环境卫生",
            "text": "楼下垃圾堆放三天无人清理",
            "check_token": check["token"],
            "check_answer": str(answer(check["question"])),
            **fields,
        }
        if point is not None:
            data |= {"lon": str(point[0]), "lat": str(point[1])}
        return client.post("/api/v1/requests", data=data, files=files)


def answer(question: str) -> int:
    """The answer to “三加五等于几？”."""
    a, b = question.split("加")
    return DIGITS.index(a) + DIGITS.index(b[0])


def _token(client: TestClient, username: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def make_work(url: str, settings: Settings) -> Work:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        row = session.execute(text(PLACES)).one()
        (a, a_worker, b, b_worker, ax, ay, bx, by, ex, ey, ox, oy, community, unstaffed) = row
        street = community[:9]
        create_account(session, "admin", PASSWORD, AccountRole.admin)
        create_account(session, "street", PASSWORD, AccountRole.street_planner, street_code=street)
        create_account(
            session,
            "dispatcher",
            PASSWORD,
            AccountRole.community_planner,
            community_code=community,
            display_name="社区派单员",
        )
        create_account(session, "worker_a", PASSWORD, AccountRole.grid_worker, staff_id=a_worker)
        create_account(session, "worker_b", PASSWORD, AccountRole.grid_worker, staff_id=b_worker)
    engine.dispose()
    return Work(
        url,
        create_app(settings, database_url=url),
        a,
        b,
        (ax, ay),
        (bx, by),
        (ex, ey),
        (ox, oy),
        community,
        unstaffed,
    )


QUIET_ENV = {
    "WANGGE_LOOKUP_RATE_PER_MINUTE": "0",
    "WANGGE_REPORT_RATE_PER_MINUTE": "0",
    "WANGGE_ESCALATE_EVERY_SECONDS": "0",
}
"""The served app's environment of :func:`quiet_settings` (the browser tests)."""


def log_in(page, url: str, username: str) -> None:
    """Open ``url`` in a browser page, log in on the form it leads to, and land back on it."""
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)


def quiet_settings(**overrides) -> Settings:
    """No rate limits and no background escalation (tests drive the clock)."""
    values = {
        "lookup_rate_per_minute": 0,
        "report_rate_per_minute": 0,
        "escalate_every_seconds": 0,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def work(isolated_url: str) -> Iterator[Work]:
    w = make_work(isolated_url, quiet_settings())
    with TestClient(w.app) as anonymous:
        w.clients["anonymous"] = anonymous
        for name in ("admin", "street", "dispatcher", "worker_a", "worker_b"):
            client = TestClient(w.app)
            client.headers["Authorization"] = f"Bearer {_token(anonymous, name)}"
            w.clients[name] = client
        yield w
