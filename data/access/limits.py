"""Request budgets every server process shares, kept in PostgreSQL (on the primary).

Each budget is a GCRA (generic cell rate algorithm, the token bucket as one number): a client
may make ``burst`` requests at once, then one per ``period`` seconds. A row holds the
theoretical arrival time (``tat``) of the client's next request; a request at time ``now`` is
allowed when ``tat <= now + (burst - 1) * period`` and then pushes ``tat`` one period further.
One upsert decides and records atomically (the row is locked while it runs), so N workers on
any number of hosts give a client exactly the configured budget.

``now`` defaults to the database's clock, the one clock all hosts share; tests pass their own.
"""

from __future__ import annotations

from psycopg import AsyncConnection
from sqlalchemy import Connection

_NOW = "coalesce(%(now)s::float8, extract(epoch FROM clock_timestamp()))"

TAKE = f"""
WITH clock AS (SELECT {_NOW} AS now)
INSERT INTO rate_limit AS r (key, tat)
SELECT %(key)s, now + %(period)s FROM clock
ON CONFLICT (key) DO UPDATE
  -- excluded.tat - period is the time of the request
  SET tat = greatest(r.tat, excluded.tat - %(period)s) + %(period)s
  WHERE r.tat <= excluded.tat - %(period)s + (%(burst)s - 1) * %(period)s
RETURNING tat
"""
"""Spend one request of ``key``'s budget: a row back when allowed, none when not."""

WAIT = f"""
SELECT greatest(0.0, tat - {_NOW} - (%(burst)s - 1) * %(period)s)
FROM rate_limit WHERE key = %(key)s
"""
"""Seconds until ``key`` may make its next request (no row: it may now)."""

GIVE_BACK = "UPDATE rate_limit SET tat = tat - %(period)s WHERE key = %(key)s"

FORGET = f"DELETE FROM rate_limit WHERE tat < {_NOW}"
"""Drop the budgets that are full again (a missing row is a full budget)."""

MIN_WAIT_S = 0.001
"""The wait reported for a refused request whose budget refilled just after the refusal."""


def _params(key: str, period: float, burst: int, now: float | None) -> dict:
    return {"key": key, "period": period, "burst": burst, "now": now}


async def take(
    conn: AsyncConnection, key: str, period: float, burst: int, now: float | None = None
) -> float:
    """Spend one request of ``key``'s budget; 0 when allowed, else the seconds to wait."""
    params = _params(key, period, burst, now)
    if await (await conn.execute(TAKE, params)).fetchone():
        return 0.0
    row = await (await conn.execute(WAIT, params)).fetchone()
    return max(row[0] if row else 0.0, MIN_WAIT_S)


def take_now(
    conn: Connection, key: str, period: float, burst: int, now: float | None = None
) -> float:
    """:func:`take` in the caller's (synchronous) transaction."""
    params = _params(key, period, burst, now)
    if conn.exec_driver_sql(TAKE, params).first():
        return 0.0
    return max(conn.exec_driver_sql(WAIT, params).scalar() or 0.0, MIN_WAIT_S)


def give_back(conn: Connection, key: str, period: float) -> None:
    """Return one request to ``key``'s budget (a try spent in advance that did not count)."""
    conn.exec_driver_sql(GIVE_BACK, {"key": key, "period": period})


async def forget_full(conn: AsyncConnection, now: float | None = None) -> int:
    """Delete the budgets that have refilled; how many."""
    return (await conn.execute(FORGET, {"now": now})).rowcount
