"""Fixtures for the planner workspace: a fresh copy of the fixture district with a second street
office and community (so that scopes have somewhere to end), and an account of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from data.access.accounts import create_account
from data.db import make_engine
from data.models import AccountRole, Community, StaffRole

PASSWORD = "correct horse battery"

# A second street office and community, east of the fixture's, each with a published plan of
# one grid holding one building of 320 households (copied from the fixture's buildings' shape).
OTHER_COMMUNITY = """
INSERT INTO street_office (code, district_code, name, geom)
SELECT left(code, 6) || '002', left(code, 6), '东山街道', ST_Translate(geom, 0.2, 0)
FROM street_office;
INSERT INTO community (code, street_code, name, geom)
SELECT left(code, 6) || '002001', left(code, 6) || '002', '东山社区', ST_Translate(geom, 0.2, 0)
FROM community;
INSERT INTO building (community_code, name, road, door_number, kind, floors, geom)
SELECT c.code, '1栋', '东山路', '1号', 'tower', 20, ST_PointOnSurface(c.geom)
FROM community c WHERE c.code LIKE '%002001';
INSERT INTO unit_entrance (building_id, number, dwellings)
SELECT id, 1, 320 FROM building WHERE road = '东山路';
INSERT INTO household (building_id, unit_id, floor, room, head_name, head_phone, members)
SELECT b.id, u.id, 1 + n / 16, (101 + n)::text, '东山住户' || n,
       '1390000' || lpad(n::text, 4, '0'), 2
FROM building b JOIN unit_entrance u ON u.building_id = b.id, generate_series(1, 320) n
WHERE b.road = '东山路';
INSERT INTO grid_plan (community_code, version, status, created_by)
SELECT code, 1, 'published', 'test' FROM community WHERE code LIKE '%002001';
INSERT INTO grid (plan_id, code, number, name, geom)
SELECT p.id, p.community_code || '001', 1, '第1网格', c.geom
FROM grid_plan p JOIN community c ON c.code = p.community_code WHERE c.code LIKE '%002001';
INSERT INTO grid_member (plan_id, grid_id, building_id)
SELECT g.plan_id, g.id, b.id FROM grid g JOIN grid_plan p ON p.id = g.plan_id
JOIN building b ON b.community_code = p.community_code WHERE b.road = '东山路';
"""


@dataclass(frozen=True)
class World:
    """The two communities and a logged-in API client per role."""

    url: str  # the test's own database
    home: str  # the fixture's community (A)
    other: str  # the second street's community (B)
    clients: dict[str, TestClient]

    def sql(self, query: str, **params) -> list:
        """Rows of a query on the test's database (to check what the API wrote)."""
        engine = make_engine(self.url)
        with engine.connect() as conn:
            rows = conn.execute(text(query), params).all()
        engine.dispose()
        return rows


def _token(client: TestClient, username: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture
def world(isolated_url: str) -> Iterator[World]:
    engine = make_engine(isolated_url)
    with Session(engine) as session, session.begin():
        session.execute(text(OTHER_COMMUNITY))
        home = session.scalar(
            text("SELECT code FROM community WHERE code NOT LIKE '%002001' ORDER BY code")
        )
        other = session.scalar(text("SELECT code FROM community WHERE code LIKE '%002001'"))
        worker_staff = session.scalar(
            text(
                "SELECT s.staff_id FROM grid_staff s JOIN grid g ON g.id = s.grid_id "
                "JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published' "
                "WHERE s.role = :role AND p.community_code = :home ORDER BY s.staff_id LIMIT 1"
            ),
            {"role": StaffRole.full_time_worker.value, "home": home},
        )
        street = session.get(Community, home).street_code
        create_account(session, "admin", PASSWORD, AccountRole.admin)
        create_account(session, "street", PASSWORD, AccountRole.street_planner, street_code=street)
        create_account(
            session,
            "planner",
            PASSWORD,
            AccountRole.community_planner,
            community_code=home,
            display_name="社区规划员甲",
        )
        create_account(
            session,
            "planner2",
            PASSWORD,
            AccountRole.community_planner,
            community_code=home,
            display_name="社区规划员乙",
        )
        create_account(session, "worker", PASSWORD, AccountRole.grid_worker, staff_id=worker_staff)
    engine.dispose()
    app = create_app(database_url=isolated_url)
    with TestClient(app) as anonymous:
        clients = {"anonymous": anonymous}
        for name in ("admin", "street", "planner", "planner2", "worker"):
            client = TestClient(app)
            client.headers["Authorization"] = f"Bearer {_token(anonymous, name)}"
            clients[name] = client
        yield World(isolated_url, home, other, clients)
