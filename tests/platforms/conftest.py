"""A small hand-made community for the city-platform tests (exports, imports, OGC API).

Its own database (``<test db>_platforms``) so that the exact coordinates, names and households
the tests compare against are fixed here, whatever the sample generator draws.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from data.db import create_database, drop_database, make_engine
from data.store import migrate
from tests.conftest import serving

COMMUNITY = "520602001001"
FIXTURE_SQL = """
INSERT INTO district(code, name, geom) VALUES
  ('520602', '碧江区', ST_Multi(ST_MakeEnvelope(109.10, 27.60, 109.30, 27.80, 4490)));
INSERT INTO street_office(code, district_code, name, geom) VALUES
  ('520602001', '520602', '环北街道',
   ST_Multi(ST_MakeEnvelope(109.10, 27.60, 109.30, 27.80, 4490)));
INSERT INTO community(code, street_code, name, office_phone, geom) VALUES
  ('520602001001', '520602001', '桃园社区', '0856-5200000',
   ST_Multi(ST_MakeEnvelope(109.18, 27.70, 109.20, 27.72, 4490))),
  ('520602001002', '520602001', '清水社区', NULL,
   ST_Multi(ST_MakeEnvelope(109.20, 27.70, 109.22, 27.72, 4490)));
INSERT INTO compound(id, community_code, name, geom) VALUES
  (1, '520602001001', '桃园小区',
   ST_GeomFromText('POLYGON((109.1850 27.7050, 109.1900 27.7050, 109.1900 27.7100,
                             109.1850 27.7100, 109.1850 27.7050))', 4490));
INSERT INTO building(id, community_code, compound_id, name, road, door_number, kind, floors, geom)
VALUES
  (1, '520602001001', 1, '1栋', '桃园路', '1号', 'midrise', 6,
   ST_GeomFromText('POLYGON((109.18612345 27.70612345, 109.18662345 27.70612345,
      109.18662345 27.70652345, 109.18612345 27.70652345, 109.18612345 27.70612345))', 4490)),
  (2, '520602001001', 1, '2栋', '桃园路', '1号', 'midrise', 6,
   ST_GeomFromText('POLYGON((109.18712345 27.70612345, 109.18762345 27.70612345,
      109.18762345 27.70652345, 109.18712345 27.70652345, 109.18712345 27.70612345))', 4490)),
  (3, '520602001001', NULL, '', '解放路', '12号', 'house', 3,
   ST_SetSRID(ST_MakePoint(109.19512345, 27.71512345), 4490));
SELECT setval('building_id_seq', 100), setval('compound_id_seq', 100);
INSERT INTO unit_entrance(id, building_id, number, dwellings) VALUES
  (1, 1, 1, 12), (2, 1, 2, 12), (3, 2, 1, 12);
INSERT INTO household(building_id, unit_id, floor, room, head_name, head_phone, id_number, members)
VALUES (1, 1, 1, '101', '张三', '13800000001', NULL, 3),
       (2, 3, 2, '201', '李四', NULL, NULL, 2),
       (3, NULL, 1, '1', '王五', '13800000003', NULL, 4);
INSERT INTO grid_plan(id, community_code, version, status, created_by, published_at) VALUES
  (1, '520602001001', 1, 'published', 'fixture', '2026-11-01'),
  (2, '520602001001', 2, 'draft', 'fixture', NULL);
INSERT INTO grid(id, plan_id, code, number, name, geom) VALUES
  (1, 1, '520602001001001', 1, '桃园1网格',
   ST_Multi(ST_MakeEnvelope(109.18, 27.70, 109.19, 27.72, 4490))),
  (2, 1, '520602001001002', 2, '桃园2网格',
   ST_Multi(ST_MakeEnvelope(109.19, 27.70, 109.20, 27.72, 4490))),
  (3, 2, '520602001001001', 1, '草稿网格',
   ST_Multi(ST_MakeEnvelope(109.18, 27.70, 109.20, 27.72, 4490)));
INSERT INTO grid_member(plan_id, grid_id, building_id) VALUES (1, 1, 1), (1, 1, 2), (1, 2, 3);
INSERT INTO staff(id, community_code, name, role, work_phone, party_member) VALUES
  (1, '520602001001', '赵网格长', 'grid_chief', '0856-5200001', true),
  (2, '520602001001', '钱网格员', 'full_time_worker', '0856-5200002', false);
INSERT INTO grid_staff(grid_id, staff_id, role) VALUES
  (1, 1, 'grid_chief'), (1, 2, 'full_time_worker');
"""


@pytest.fixture(scope="session")
def platforms_url(admin_url: str) -> Iterator[str]:
    """A migrated database holding only the hand-made community above."""
    base = make_url(admin_url)
    name = os.environ.get("WANGGE_TEST_DB", "wangge_test") + "_platforms"
    url = base.set(database=name).render_as_string(hide_password=False)
    drop_database(admin_url, name)
    create_database(admin_url, name)
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(FIXTURE_SQL)
    engine.dispose()
    yield url


@pytest.fixture(scope="session")
def platforms_engine(platforms_url: str) -> Iterator[Engine]:
    engine = make_engine(platforms_url)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(platforms_engine: Engine):
    """A connection whose transaction is rolled back after the test."""
    with platforms_engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


def count(engine_or_conn, table: str) -> int:
    return engine_or_conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.fixture(scope="session")
def live_server(platforms_url: str) -> Iterator[str]:
    """A real uvicorn serving the app on a free port, for GDAL's OAPIF driver."""
    with serving(platforms_url) as base:
        yield base
