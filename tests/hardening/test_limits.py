"""Rate limits and login throttling in a budget every server process shares (issue 18, item 4):
the GCRA in PostgreSQL against a clock the test sets, and the configured budget holding across
two uvicorn workers."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from sqlalchemy import text

from data.access import limits
from data.db import make_engine
from data.settings import libpq_url
from tests.conftest import serving
from tests.planning.conftest import PASSWORD, World

PERIOD, BURST = 1.0, 3  # 60 a minute, 3 at once


@pytest.fixture
def conn(database_url: str):
    """A connection whose changes are rolled back after the test."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()
    engine.dispose()


def test_a_budget_allows_the_burst_then_one_per_period(conn) -> None:
    waits = [limits.take_now(conn, "t:a", PERIOD, BURST, now=100.0) for _ in range(BURST + 1)]
    assert waits[:BURST] == [0.0] * BURST
    assert waits[BURST] == pytest.approx(PERIOD)  # the next request's worth is one period away
    assert limits.take_now(conn, "t:b", PERIOD, BURST, now=100.0) == 0.0  # its own budget
    assert limits.take_now(conn, "t:a", PERIOD, BURST, now=100.5) == pytest.approx(0.5)
    assert limits.take_now(conn, "t:a", PERIOD, BURST, now=101.01) == 0.0  # one came back
    assert limits.take_now(conn, "t:a", PERIOD, BURST, now=101.02) > 0
    limits.give_back(conn, "t:a", PERIOD)  # a try that did not count
    assert limits.take_now(conn, "t:a", PERIOD, BURST, now=101.03) == 0.0
    # refusals spend nothing: after the whole refill time the burst is back
    later = 102.01 + BURST * PERIOD
    assert [limits.take_now(conn, "t:a", PERIOD, BURST, now=later) for _ in range(BURST)] == [
        0.0
    ] * BURST


def test_refilled_budgets_are_forgotten(database_url: str) -> None:
    async def run() -> tuple[int, list]:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(database_url), autocommit=True
        ) as aconn:
            await aconn.execute("DELETE FROM rate_limit WHERE key LIKE 'f:%%'")
            # Clock values far in the future: the app's own forgetting task (a session-wide
            # test client may be running it) works on the real clock and must not see these
            # budgets as refilled.
            base = time.time() + 10**7
            assert await limits.take(aconn, "f:old", PERIOD, BURST, now=base + 10) == 0.0
            assert await limits.take(aconn, "f:new", PERIOD, BURST, now=base + 1000) == 0.0
            forgotten = await limits.forget_full(aconn, now=base + 500)
            keys = await (
                await aconn.execute("SELECT key FROM rate_limit WHERE key LIKE 'f:%%'")
            ).fetchall()
            await aconn.execute("DELETE FROM rate_limit WHERE key LIKE 'f:%%'")
            return forgotten, keys

    # A fresh thread: a browser test earlier in the session may leave an event loop running.
    with ThreadPoolExecutor(1) as pool:
        forgotten, keys = pool.submit(asyncio.run, run()).result()
    assert forgotten >= 1 and keys == [("f:new",)]


def test_the_lookup_budget_holds_across_two_workers(isolated_url: str) -> None:
    budget = {"WANGGE_LOOKUP_RATE_PER_MINUTE": "1", "WANGGE_LOOKUP_BURST": "20"}
    with serving(isolated_url, workers=2, **budget) as base:

        def lookup(_: int) -> int:
            # a new connection each time, so both workers take turns
            point = {"lon": 109.19, "lat": 27.72}
            r = httpx.get(base + "/api/v1/lookup", params=point, timeout=60)
            return r.status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lookup, range(60)))
        workers = _workers(isolated_url)
    assert len(workers) == 2, workers
    assert sum(c != 429 for c in codes) == 20, codes
    assert codes.count(429) == 40


def _workers(url: str) -> set[str]:
    """The server processes connected to the database (their pools name them)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        names = conn.scalars(
            text(
                "SELECT DISTINCT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name LIKE 'wangge %'"
            )
        ).all()
    engine.dispose()
    return set(names)


def test_login_failures_count_across_two_workers(world: World) -> None:
    limits_env = {"WANGGE_LOGIN_MAX_FAILURES": "4", "WANGGE_LOGIN_WINDOW_SECONDS": "600"}
    with serving(world.url, workers=2, **limits_env) as base:

        def token(password: str) -> int:
            body = {"username": "planner", "password": password}
            return httpx.post(base + "/api/v1/auth/token", json=body, timeout=60).status_code

        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(token, ["wrong"] * 8))
        assert sorted(codes) == [401] * 4 + [429] * 4, codes
        assert token(PASSWORD) == 429
