"""Public reads on PostgreSQL hot standbys: which server answers a resident's request.

Every public read (lookups, tiles, the public pages, OGC API) asks :class:`ReadRouter` for a
connection. It hands out a connection to a replica that is up and at most ``max_lag_s``
seconds behind the primary, in turn; failing that, to the primary. When the primary is down
the replicas keep answering (a stale answer beats none); staff reads and all writes never come
here, they use the primary's engine.

Lag is measured in WAL positions, not replay timestamps (``pg_last_xact_replay_timestamp`` of a
replica of an idle primary grows without any lag): every check samples the primary's
``pg_current_wal_lsn()``; a replica whose ``pg_last_wal_replay_lsn()`` has passed the latest
sample has no lag, else its lag is the time since the primary first wrote past what it has
replayed.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from data.settings import libpq_url

log = logging.getLogger("wangge")

CHECK_TIMEOUT_S = 2
"""How long a health check waits for a server to answer before calling it down."""
CONNECT_TIMEOUT_S = 3

_LSN = "SELECT pg_wal_lsn_diff({}, '0/0')::bigint"
PRIMARY_LSN = _LSN.format("pg_current_wal_lsn()")
REPLAYED_LSN = _LSN.format("pg_last_wal_replay_lsn()")


POOL_TIMEOUT_S = 5.0
"""How long a public read waits for a connection of the primary's pool before answering 503."""


async def idle_connection_alive(conn: AsyncConnection) -> None:
    """The pools' check of a connection before a read uses it, without a round trip.

    An idle connection has nothing to read unless the server said goodbye (a restart, a
    terminated backend: a FATAL message, then end of file), so a readable socket means a dead
    connection and the pool replaces it. (``check_connection``'s empty query doubled the round
    trips of every lookup.)
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("connection closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        await conn.close()  # so that the pool discards it rather than keeping it
        raise psycopg.OperationalError("the server closed the connection")


async def open_pool(url: str, size: int) -> AsyncConnectionPool:
    """An async pool of autocommit connections for public reads on ``url``, opened without
    waiting for the server; a connection the server dropped is replaced before use, and a
    read waits a bounded time for one, then answers 503."""
    pool = AsyncConnectionPool(
        libpq_url(url),
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "connect_timeout": 5},
        check=idle_connection_alive,
        timeout=POOL_TIMEOUT_S,
        open=False,
    )
    await pool.open(wait=False)
    return pool


def server_name(url: str) -> str:
    """``host:port/dbname`` of a URL, never its password (for logs and ``/healthz``)."""
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def unusable_reason(url: str, primary_url: str | None) -> str | None:
    """Why ``url`` cannot serve as a replica of ``primary_url`` (None: it can).

    Refused: nothing answers there; the server is a primary (writable: it would not follow
    ours); it has no PostGIS; it is a standby of another cluster.
    """
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            [(recovering,)] = conn.execute("SELECT pg_is_in_recovery()").fetchall()
            if not recovering:
                return "it is a primary (not in recovery), not a standby"
            postgis = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            if postgis.fetchone() is None:
                return "its database has no PostGIS"
            system = _system_id(conn)
    except psycopg.Error as exc:
        return "unreachable: " + (str(exc).strip().splitlines() or ["no answer"])[0]
    if primary_url:
        try:
            with psycopg.connect(libpq_url(primary_url), connect_timeout=CONNECT_TIMEOUT_S) as p:
                if _system_id(p) != system:
                    return "it is a standby of another cluster than DATABASE_URL's"
        except psycopg.Error:
            pass  # the primary is down: the replica is all there is
    return None


def _system_id(conn: psycopg.Connection) -> int:
    [(system,)] = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchall()
    return int(system)


def describe_standby(url: str) -> str:
    """One line on a standby: replaying or paused, and how far behind it has received."""
    with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S) as conn:
        [(recovering, paused, replayed, received, since)] = conn.execute(
            # pg_is_wal_replay_paused() raises on a primary: ask it only during recovery.
            "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() "
            "THEN pg_is_wal_replay_paused() END, pg_last_wal_replay_lsn(), "
            "pg_last_wal_receive_lsn(), now() - pg_last_xact_replay_timestamp() "
            "FROM (SELECT 1) one"
        ).fetchall()
    if not recovering:
        return "已不在恢复状态：它现在是主库"
    state = "回放已暂停" if paused else "正在回放"
    last = f"最后回放的事务在 {since} 之前" if since is not None else "还没有回放过事务"
    return f"{state}，已收到主库日志至 {received}，已回放至 {replayed}（{last}）"


@dataclass
class Replica:
    """One standby: its pools, and what the last check found."""

    name: str
    url: str
    pool: AsyncConnectionPool
    engine: Engine
    state: str = "starting"
    """``ok``, ``lagging`` (further behind than the bound) or ``down``."""
    lag_s: float | None = None


@dataclass
class ReadRouter:
    """Hands out connections for public reads: a fresh replica's if there is one, else the
    primary's. :meth:`watch` keeps each replica's state current."""

    primary_url: str
    primary_pool: AsyncConnectionPool
    primary_engine: Engine
    replicas: list[Replica] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    max_lag_s: float = 5.0
    primary_up: bool = True
    _history: deque[tuple[float, int]] = field(default_factory=deque)
    _turn: int = 0

    def serving(self) -> list[Replica]:
        """The replicas that take reads now: the fresh ones; with the primary down, any that
        answers (stale beats nothing)."""
        fresh = [r for r in self.replicas if r.state == "ok"]
        if fresh or self.primary_up:
            return fresh
        return [r for r in self.replicas if r.state == "lagging"]

    def _rotation(self) -> list[Replica]:
        serving = self.serving()
        if not serving:
            return []
        self._turn = (self._turn + 1) % len(serving)
        return serving[self._turn :] + serving[: self._turn]

    @asynccontextmanager
    async def connection(self, *, primary: bool = False) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection for a public read, returned to its pool afterwards;
        ``primary`` asks for the primary's (what a replica may not have replayed yet)."""
        if primary:
            pool, conn = self.primary_pool, await self.primary_pool.getconn()
        else:
            pool, conn = await self._acquire()
        try:
            yield conn
        finally:
            await pool.putconn(conn)

    async def _acquire(self) -> tuple[AsyncConnectionPool, AsyncConnection]:
        if not self.replicas:
            return self.primary_pool, await self.primary_pool.getconn()
        for replica in self._rotation():
            try:
                return replica.pool, await replica.pool.getconn()
            except psycopg.OperationalError as exc:
                self._mark_down(replica, exc)
            except PoolTimeout:
                pass  # busy, not down: this read overflows to the next server
        return self.primary_pool, await self.primary_pool.getconn()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A SQLAlchemy connection for a public read (the OGC API), chosen like
        :meth:`connection`."""
        for replica in self._rotation():
            try:
                conn = replica.engine.connect()
            except OperationalError as exc:
                self._mark_down(replica, exc)
                continue
            with conn:
                yield conn
            return
        with self.primary_engine.connect() as conn:
            yield conn

    def _mark_down(self, replica: Replica, exc: Exception) -> None:
        if replica.state != "down":
            log.warning("replica %s skipped: %s", replica.name, str(exc).strip()[:200])
        replica.state, replica.lag_s = "down", None

    async def check(self) -> None:
        """Sample the primary's WAL position, then measure each replica against it."""
        now = time.monotonic()
        written = await _scalar(self.primary_url, PRIMARY_LSN)
        self.primary_up = written is not None
        if written is not None and (not self._history or written != self._history[-1][1]):
            self._history.append((now, written))
        horizon = now - max(60.0, 4 * self.max_lag_s)
        while len(self._history) > 1 and self._history[1][0] < horizon:
            self._history.popleft()
        for replica in self.replicas:
            replayed = await _scalar(replica.url, REPLAYED_LSN)
            if replayed is None:
                if replica.state != "down":
                    log.warning("replica %s skipped: not answering", replica.name)
                replica.state, replica.lag_s = "down", None
                continue
            replica.lag_s = round(self._lag(replayed, time.monotonic()), 3)
            replica.state = "ok" if replica.lag_s <= self.max_lag_s else "lagging"

    def _lag(self, replayed: int, now: float) -> float:
        """Seconds since the primary first wrote WAL the replica has not replayed (0: none)."""
        for sampled_at, written in self._history:
            if written > replayed:
                return now - sampled_at
        return 0.0

    async def watch(self, interval_s: float) -> None:
        """Check forever, every ``interval_s`` seconds (a task of the app's lifespan)."""
        while True:
            try:
                await self.check()
            except Exception:  # a monitor that dies would freeze every state: log, go on
                log.exception("replica check failed")
            await asyncio.sleep(interval_s)

    def report(self) -> list[dict]:
        """Each replica's state for ``/healthz``."""
        found = [{"name": r.name, "state": r.state, "lag_s": r.lag_s} for r in self.replicas]
        refused = [{"name": n, "state": f"rejected: {why}"} for n, why in self.rejected.items()]
        return found + refused


async def _scalar(url: str, sql: str) -> int | None:
    """``sql``'s one value on the server at ``url``, or None if it does not answer soon. On a
    connection of its own: a pool saturated by reads must not make its server look down."""

    async def ask() -> int | None:
        async with await AsyncConnection.connect(
            libpq_url(url), autocommit=True, connect_timeout=CHECK_TIMEOUT_S
        ) as conn:
            row = await (await conn.execute(sql)).fetchone()
        return row[0] if row else None

    try:
        return await asyncio.wait_for(ask(), 2 * CHECK_TIMEOUT_S)
    except (psycopg.OperationalError, TimeoutError):
        return None
