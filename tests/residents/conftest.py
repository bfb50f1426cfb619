"""Fixtures for the residents' lookup, maps and signboard: an app with lookups unlimited (the
rate limit has its own test), and facts read from the fixture district to ask about."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from data.settings import Settings, libpq_url


@pytest.fixture(scope="session")
def open_client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(lookup_rate_per_minute=0)
    with TestClient(create_app(settings, database_url=database_url)) as client:
        yield client


@dataclass(frozen=True)
class Facts:
    grid_code: str
    inside: tuple[float, float]  # a point inside that grid (lon, lat), EPSG:4490
    road: str
    door_number: str
    compound: str
    building_name: str
    building_grid: str  # the published grid of that building
    staff_names: frozenset[str]


FACTS_SQL = """
WITH b AS (
  SELECT b.id, b.road, b.door_number, b.name, cp.name AS compound, g.code
  FROM building b JOIN compound cp ON cp.id = b.compound_id
  JOIN grid_member m ON m.building_id = b.id AND m.unit_id IS NULL
  JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published'
  JOIN grid g ON g.id = m.grid_id
  WHERE b.door_number ~ '^[0-9]+号$' AND b.name ~ '^[0-9]+栋$'
    AND (SELECT count(*) FROM building b2 WHERE b2.road = b.road
         AND b2.door_number = b.door_number) = 1
    AND (SELECT count(*) FROM building b3 WHERE b3.compound_id = b.compound_id
         AND b3.name = b.name) = 1
  ORDER BY b.id LIMIT 1
), g AS (
  SELECT g.code, ST_X(ST_PointOnSurface(g.geom)) AS x, ST_Y(ST_PointOnSurface(g.geom)) AS y
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
  ORDER BY g.code LIMIT 1
)
SELECT g.code, g.x, g.y, b.road, b.door_number, b.compound, b.name, b.code,
  (SELECT array_agg(name) FROM staff)
FROM g, b
"""


@pytest.fixture(scope="session")
def facts(database_url: str) -> Facts:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(FACTS_SQL).fetchone()
    assert row is not None, "the fixture district has no building with a road and door number"
    code, x, y, road, door, compound, name, bgrid, staff = row
    return Facts(code, (x, y), road, door, compound, name, bgrid, frozenset(staff or []))
