"""Public reads on a real hot standby: a primary and a streaming standby of our own
(``pg_basebackup -R``, as ``wangge db replica start`` makes one), the app serving lookups from
the standby, skipping it when it lags, and answering from it while the primary is down; a
replica URL that cannot serve is refused at start-up with one line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.app import create_app
from data.access.accounts import create_account
from data.db import create_database, make_engine
from data.models import AccountRole
from data.settings import Settings, libpq_url
from data.store import migrate
from data.store.cluster import LocalCluster, LocalStandby
from data.store.setup import load_sample
from tests.conftest import _free_port, grid_one, publish_renamed, scratch_folder, serving

PASSWORD = "correct horse battery"
MAX_LAG_S = 3.0
CHECK_S = 0.2
NO_RATE_LIMIT = {"WANGGE_LOOKUP_RATE_PER_MINUTE": "1000000", "WANGGE_LOOKUP_BURST": "1000000"}


def _db(url: str) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), autocommit=True)


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[LocalCluster, str, str]]:
    """(primary, primary URL, standby URL): the one-community fixture on a primary of our own,
    streamed to a hot standby."""
    with scratch_folder("wangge-replicas-") as root:
        yield from _primary_and_standby(root)


def _primary_and_standby(root: Path) -> Iterator[tuple[LocalCluster, str, str]]:
    primary = LocalCluster(root=root / "pg", port=_free_port())
    standby = LocalStandby(root=root / "pg-replica", port=_free_port(), primary=primary)
    primary.ensure_running()
    try:
        create_database(primary.url("postgres"), "wangge")
        url = primary.url("wangge")
        migrate.upgrade(url)
        engine = make_engine(url, poolclass=NullPool)
        load_sample(engine, 7, communities=1)
        with Session(engine) as session, session.begin():
            community = session.execute(text("SELECT code FROM community")).scalar()
            role = AccountRole.community_planner
            create_account(session, "planner", PASSWORD, role, community_code=community)
        engine.dispose()
        create_database(primary.url("postgres"), "plain")  # no PostGIS in it
        standby.ensure_running()
        yield primary, url, standby.url("wangge")
    finally:
        standby.stop()
        primary.stop()


def _name_at(http: httpx.Client, point: dict) -> str:
    response = http.get("/api/v1/lookup", params=point)
    assert response.status_code == 200, response.text
    return response.json()["grid"]["name"]


def _until(predicate, timeout_s: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout_s``."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s} s"
        time.sleep(0.05)
    return time.monotonic() - start


def _replica_state(http: httpx.Client) -> str:
    return http.get("/healthz").json()["replicas"][0]["state"]


def test_reads_follow_the_replica_and_skip_it_when_it_lags(clusters):
    _, url, replica_url = clusters
    community, (lon, lat) = grid_one(url)
    point = {"lon": lon, "lat": lat}
    env = {
        "WANGGE_REPLICA_URL": libpq_url(replica_url),
        "WANGGE_REPLICA_MAX_LAG_S": str(MAX_LAG_S),
        "WANGGE_REPLICA_CHECK_INTERVAL_S": str(CHECK_S),
        **NO_RATE_LIMIT,
    }
    with serving(url, **env) as base, httpx.Client(base_url=base, timeout=30) as http:
        health = http.get("/healthz").json()
        assert health["status"] == "ok"
        assert health["replicas"][0]["state"] == "ok", health

        # Published on the primary: a lookup (on the replica) sees it within the bound.
        publish_renamed(url, community, "甲网格")
        assert _until(lambda: _name_at(http, point) == "甲网格", MAX_LAG_S) < MAX_LAG_S
        with _db(replica_url) as standby:
            assert standby.execute("SELECT pg_is_in_recovery()").fetchone()[0]

        # The replica stops replaying: right after the next publish, lookups still come from
        # it (the old name); once it is further behind than the bound it is skipped and the
        # primary answers (the new name).
        with _db(replica_url) as standby:
            standby.execute("SELECT pg_wal_replay_pause()")
        try:
            publish_renamed(url, community, "乙网格")
            assert _name_at(http, point) == "甲网格"
            waited = _until(lambda: _name_at(http, point) == "乙网格", MAX_LAG_S + 10)
            assert waited >= MAX_LAG_S - 2 * CHECK_S
            assert _replica_state(http) == "lagging"
        finally:
            with _db(replica_url) as standby:
                standby.execute("SELECT pg_wal_replay_resume()")
        _until(lambda: _replica_state(http) == "ok", MAX_LAG_S + 10)


def test_primary_down_lookups_answer_from_the_replica_and_writes_are_503(clusters):
    primary, url, replica_url = clusters
    community, (lon, lat) = grid_one(url)
    point = {"lon": lon, "lat": lat}
    env = {
        "WANGGE_REPLICA_URL": libpq_url(replica_url),
        "WANGGE_REPLICA_CHECK_INTERVAL_S": str(CHECK_S),
        **NO_RATE_LIMIT,
    }
    with serving(url, **env) as base, httpx.Client(base_url=base, timeout=30) as http:
        login = {"username": "planner", "password": PASSWORD}
        token = http.post("/api/v1/auth/token", json=login).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        name = _name_at(http, point)
        assert primary.stop()
        try:
            for _ in range(5):
                assert _name_at(http, point) == name
            assert http.get("/map").status_code == 200
            grid = http.get("/api/v1/lookup/grids/" + community + "001")
            assert grid.status_code == 200, grid.text
            write = http.post(f"/api/v1/communities/{community}/drafts", headers=auth)
            assert write.status_code == 503, write.text
            assert "主数据库暂时无法连接" in write.json()["detail"]
            health = http.get("/healthz")
            assert health.status_code == 200
            assert health.json()["status"] == "degraded"
            assert "unreachable" in health.json()["database"]
        finally:
            primary.ensure_running()
        _until(lambda: http.get("/healthz").json()["status"] == "ok", 30)


def test_replica_urls_that_cannot_serve_are_refused_with_one_line(clusters, caplog):
    _, url, replica_url = clusters
    plain = replica_url.rsplit("/", 1)[0] + "/plain"
    nowhere = f"postgresql://nobody@127.0.0.1:{_free_port()}/nothing"
    urls = ",".join(libpq_url(u) for u in (url, plain, nowhere))
    _, (lon, lat) = grid_one(url)
    point = {"lon": lon, "lat": lat}
    settings = Settings(replica_url=urls, lookup_rate_per_minute=0)
    app = create_app(settings, database_url=url)
    with caplog.at_level(logging.WARNING, logger="wangge"), TestClient(app) as http:
        health = http.get("/healthz").json()
        assert http.get("/api/v1/lookup", params=point).status_code == 200
    states = [r["state"] for r in health["replicas"]]
    assert states[0].startswith("rejected: it is a primary"), states
    assert states[1] == "rejected: its database has no PostGIS", states
    assert states[2].startswith("rejected: unreachable"), states
    lines = [r.getMessage() for r in caplog.records if "WANGGE_REPLICA_URL" in r.getMessage()]
    assert len(lines) == 3, lines
    assert all("public reads use the primary" in line for line in lines)
    assert health["status"] == "ok"
