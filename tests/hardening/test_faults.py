"""Faults: the app killed (SIGKILL) in the middle of an import or a publish leaves the database
with all of it or none of it; a PostgreSQL restart is survived without restarting the app; an
unreachable database is a 503 with a message on every path, and ``/healthz`` says so.

The kills happen while the write is in flight: the test watches ``pg_stat_activity`` for the
app's writing statement and kills the process the moment it appears (imports), or holds a lock
the publish needs, so the publishing transaction has archived the old plan and published the
new one but not committed, and kills it there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.app import create_app
from data.access.accounts import create_account
from data.db import create_database, make_engine
from data.models import AccountRole
from data.settings import libpq_url
from data.store import migrate
from data.store.cluster import LocalCluster
from data.store.setup import load_sample
from tests.conftest import launched, scratch_folder, serving

PASSWORD = "correct horse battery"
NO_RATE_LIMIT = {"WANGGE_LOOKUP_RATE_PER_MINUTE": "1000000", "WANGGE_LOOKUP_BURST": "1000000"}
ROOT = Path(__file__).resolve().parents[2]


def _db(url: str) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), autocommit=True)


def _scalar(url: str, sql: str, *args) -> object:
    with _db(url) as conn:
        return conn.execute(sql, args).fetchone()[0]


def _counts(url: str, *tables: str) -> dict[str, int]:
    with _db(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def _wait_for_statement(url: str, prefix: str, proc: subprocess.Popen, timeout: float = 90) -> str:
    """Poll ``pg_stat_activity`` until a backend of the test database is inside a transaction
    whose latest statement starts with ``prefix``; returns that backend's state."""
    name = make_url(url).database
    deadline = time.monotonic() + timeout
    with _db(url) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                "AND ltrim(query) ILIKE %s",
                (name, prefix + "%"),
            ).fetchone()
            if row is not None:
                return f"{row[0]} ({row[1] or 'running'})"
            assert proc.poll() is None, "the writer ended before it was caught writing"
            time.sleep(0.002)
    raise AssertionError(f"no {prefix!r} statement seen within {timeout} s")


def _wait_for_backends_gone(url: str, timeout: float = 30) -> None:
    """Wait until only our own connection is left on the database (the killed client's
    backend has noticed and rolled back)."""
    name = make_url(url).database
    deadline = time.monotonic() + timeout
    with _db(url) as conn:
        while time.monotonic() < deadline:
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                (name,),
            ).fetchone()[0]
            if others == 0:
                return
            time.sleep(0.05)
    raise AssertionError("the killed client's backend is still there")


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _planner_token(url: str, base: str) -> str:
    engine = make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        community = conn.scalar(text("SELECT code FROM community ORDER BY code LIMIT 1"))
    with Session(engine) as session, session.begin():
        create_account(
            session,
            "killplanner",
            PASSWORD,
            AccountRole.community_planner,
            community_code=community,
        )
    engine.dispose()
    response = httpx.post(
        base + "/api/v1/auth/token", json={"username": "killplanner", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


# --- SIGKILL in the middle of imports ------------------------------------------------------


def _household_table(url: str, path: Path, rows: int) -> None:
    """A 一张表 of ``rows`` new households, all in one building of the fixture (rooms that no
    household holds yet)."""
    with _db(url) as conn:
        road, door, name, unit, floors = conn.execute(
            "SELECT b.road, b.door_number, b.name, u.number, b.floors FROM building b "
            "JOIN unit_entrance u ON u.building_id = b.id ORDER BY b.id LIMIT 1"
        ).fetchone()
    pd.DataFrame(
        {
            "户主姓名": [f"测试户{i}" for i in range(rows)],
            "联系电话": [f"139{i:08d}" for i in range(rows)],
            "路名": road,
            "门牌号": door,
            "楼栋": name,
            "单元": unit,
            "楼层": [1 + i % floors for i in range(rows)],
            "房号": [f"K{i:06d}" for i in range(rows)],
            "人数": 2,
        }
    ).to_csv(path, index=False)


def test_cli_household_import_killed_mid_copy_leaves_all_or_nothing(isolated_url, tmp_path):
    rows = 60_000
    table = tmp_path / "一张表.csv"
    _household_table(isolated_url, table, rows)
    before = _counts(isolated_url, "household", "audit_log")
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/wangge"), "import", "households", str(table)],
        env={**os.environ, "DATABASE_URL": libpq_url(isolated_url)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        state = _wait_for_statement(isolated_url, "COPY household", proc)
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    _wait_for_backends_gone(isolated_url)
    after = _counts(isolated_url, "household", "audit_log")
    full = {"household": before["household"] + rows, "audit_log": before["audit_log"] + 1}
    assert after in (before, full), (state, before, after)


def _buildings_geojson(url: str, path: Path, count: int) -> None:
    """``count`` new point buildings spread over the fixture community's interior."""
    with _db(url) as conn:
        inside = conn.execute(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT geom FROM community "
            "ORDER BY code LIMIT 1) c, ST_Dump(ST_GeneratePoints(ST_Buffer(c.geom, -0.0005), "
            "%s, 1)) d",
            (count,),
        ).fetchall()
    assert len(inside) == count
    features = [
        {
            "type": "Feature",
            "properties": {"road": "压测路", "door_number": f"{i}号", "floors": 6, "name": ""},
            "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
        }
        for i, (x, y) in enumerate(inside)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def test_api_building_import_killed_mid_insert_leaves_all_or_nothing(isolated_url, tmp_path):
    count = 20_000
    layer = tmp_path / "buildings.geojson"
    _buildings_geojson(isolated_url, layer, count)
    before = _counts(isolated_url, "building")
    with launched(isolated_url) as (base, proc):
        token = _planner_token(isolated_url, base)

        def upload() -> None:
            with layer.open("rb") as fh:
                httpx.post(
                    base + "/api/v1/import/buildings",
                    headers={"Authorization": f"Bearer {token}"},
                    files={"file": ("buildings.geojson", fh, "application/geo+json")},
                    timeout=120,
                )

        sender = threading.Thread(target=lambda: _swallow(upload), daemon=True)
        sender.start()
        state = _wait_for_statement(isolated_url, "INSERT INTO building", proc)
        _kill(proc)
        sender.join(timeout=30)
    _wait_for_backends_gone(isolated_url)
    after = _counts(isolated_url, "building")
    assert after in (before, {"building": before["building"] + count}), (state, before, after)


def _swallow(fn) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed under the request
        fn()


# --- SIGKILL in the middle of a publish -----------------------------------------------------


def _plans(url: str) -> list[tuple]:
    with _db(url) as conn:
        return conn.execute(
            "SELECT id, version, status::text, revision FROM grid_plan ORDER BY id"
        ).fetchall()


def test_publish_killed_before_commit_leaves_the_old_plan_published(isolated_url):
    with launched(isolated_url) as (base, proc):
        token = _planner_token(isolated_url, base)
        auth = {"Authorization": f"Bearer {token}"}
        community = _scalar(isolated_url, "SELECT code FROM community ORDER BY code LIMIT 1")
        draft = httpx.post(f"{base}/api/v1/communities/{community}/drafts", headers=auth)
        assert draft.status_code == 201, draft.text
        plan = draft.json()["plan"]
        before = _plans(isolated_url)
        audit_before = _counts(isolated_url, "audit_log")
        # The test holds a lock on audit_log: the publish archives the old plan and publishes
        # the draft in its transaction, then waits on its audit row, uncommitted; killed there.
        blocker = _db(isolated_url)
        blocker.autocommit = False
        blocker.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
        sender = threading.Thread(
            target=lambda: _swallow(
                lambda: httpx.post(
                    f"{base}/api/v1/communities/{community}/plans/{plan['id']}/publish",
                    headers=auth,
                    json={"revision": plan["revision"], "reason": "故障演练"},
                    timeout=60,
                )
            ),
            daemon=True,
        )
        sender.start()
        try:
            state = _wait_for_statement(isolated_url, "INSERT INTO audit_log", proc)
            assert "Lock" in state, state
            _kill(proc)
        finally:
            blocker.rollback()
            blocker.close()
        sender.join(timeout=30)
    _wait_for_backends_gone(isolated_url)
    assert _plans(isolated_url) == before
    assert _counts(isolated_url, "audit_log") == audit_before
    # A new app process publishes the same draft: nothing was left half done or locked.
    with serving(isolated_url) as base:
        response = httpx.post(
            f"{base}/api/v1/communities/{community}/plans/{plan['id']}/publish",
            headers=auth,
            json={"revision": plan["revision"], "reason": "故障演练之后"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
    statuses = {row[0]: row[2] for row in _plans(isolated_url)}
    assert statuses[plan["id"]] == "published"
    assert list(statuses.values()).count("published") == 1


# --- PostgreSQL restarted, or not there at all -----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[tuple[LocalCluster, str]]:
    """A throwaway PostgreSQL cluster of our own (stopped and started by the tests), holding
    the one-community fixture."""
    with scratch_folder("wangge-faults-") as root:
        yield from _fixture_cluster(LocalCluster(root=root / "pg", port=_free_port()))


def _fixture_cluster(cluster: LocalCluster) -> Iterator[tuple[LocalCluster, str]]:
    cluster.ensure_running()
    try:
        create_database(cluster.url("postgres"), "wangge")
        url = cluster.url("wangge")
        migrate.upgrade(url)
        engine = make_engine(url, poolclass=NullPool)
        load_sample(engine, 7, communities=1)
        engine.dispose()
        yield cluster, url
    finally:
        cluster.stop()


def _inside_a_grid(url: str) -> dict[str, float]:
    with _db(url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(g.geom) p FROM grid g "
            "JOIN grid_plan pl ON pl.id = g.plan_id AND pl.status = 'published' "
            "ORDER BY g.code LIMIT 1) s"
        ).fetchone()
    return {"lon": lon, "lat": lat}


def _all_ok(http: httpx.Client, path: str, params: dict | None, n: int) -> list[int]:
    """``n`` requests at once; their status codes."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: http.get(path, params=params).status_code, range(n)))


def test_postgres_restart_is_survived_without_restarting_the_app(own_cluster):
    cluster, url = own_cluster
    point = _inside_a_grid(url)
    with serving(url, **NO_RATE_LIMIT) as base, httpx.Client(base_url=base, timeout=30) as http:
        # Both pools hold several live connections (requests at once open more than one).
        assert set(_all_ok(http, "/api/v1/stats", None, 8)) == {200}
        assert set(_all_ok(http, "/api/v1/lookup", point, 8)) == {200}

        # A restart between two requests: the next ones succeed, on connections made anew.
        assert cluster.stop()
        cluster.ensure_running()
        assert set(_all_ok(http, "/api/v1/lookup", point, 8)) == {200}
        assert set(_all_ok(http, "/api/v1/stats", None, 8)) == {200}

        # While the server is down: 503 with a message, and /healthz says so.
        assert cluster.stop()
        health = http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert "unreachable" in health.json()["database"]
        for path, params in (("/api/v1/stats", None), ("/api/v1/lookup", point)):
            down = http.get(path, params=params)
            assert down.status_code == 503, (path, down.text)
            assert "数据库暂时无法连接" in down.json()["detail"]

        # Back up: the very next requests succeed, without restarting the app.
        cluster.ensure_running()
        assert set(_all_ok(http, "/api/v1/lookup", point, 8)) == {200}
        assert set(_all_ok(http, "/api/v1/stats", None, 8)) == {200}
        assert http.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_unreachable_database_is_503_on_the_lookup_path_too():
    """No server at all behind the URL: lookups answer 503 with a message, not 500."""
    nowhere = f"postgresql://nobody@127.0.0.1:{_free_port()}/nothing"
    with TestClient(create_app(database_url=nowhere)) as http:
        assert http.get("/healthz").status_code == 503
        for path, params in (
            ("/api/v1/lookup", {"lon": 109.19, "lat": 27.72}),
            ("/api/v1/lookup/grids/520602001001001", None),
        ):
            response = http.get(path, params=params)
            assert response.status_code == 503, (path, response.text)
            assert "数据库暂时无法连接" in response.json()["detail"]
