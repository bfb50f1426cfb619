"""Per-client budgets: public lookups (so staff phone lists can't be scraped in bulk) and failed
logins (so passwords can't be guessed).

The budgets live in PostgreSQL (``data/access/limits.py``), shared by every worker process and
host: the configured numbers are the real ones whatever the number of workers, and a restart
forgets nothing. The client is the address the server resolved (see :func:`client_address`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine

from data.access import limits

log = logging.getLogger("wangge")
LIMIT_STORE_TIMEOUT_S = 1.0
"""How long a request waits for the budgets' database before going on without them."""
LIMIT_STORE_BACKOFF_S = 10.0
"""How long the budgets stay waived after their database failed to answer."""


class RateLimited(Exception):
    """Too many lookups from one client; ``retry_after`` seconds until the next is allowed."""

    detail = "查询过于频繁，请稍后再试"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Budget:
    """``burst`` requests at once, then ``per_minute``; 0 for either turns the budget off.
    A bucket's key names the budget and its numbers, so changing them starts afresh."""

    name: str
    per_minute: float
    burst: int

    @property
    def off(self) -> bool:
        return self.per_minute <= 0 or self.burst <= 0

    @property
    def period(self) -> float:
        """Seconds one request's worth of budget takes to come back."""
        return 60.0 / self.per_minute

    def key(self, subject: str) -> str:
        return f"{self.name}:{self.per_minute:g}/{self.burst}:{subject}"


def client_address(request: Request) -> str:
    """The client's address as the server resolved it: the connection's peer, or, behind a
    configured proxy (``WANGGE_TRUSTED_PROXY``, passed to uvicorn by ``wangge serve``), the
    right-most ``X-Forwarded-For`` hop that is not a trusted proxy. The header itself is never
    read here: a client can write anything into it."""
    return request.client.host if request.client else "unknown"


async def spend(request: Request, budget: Budget) -> None:
    """One request of the client's ``budget``, kept where every server process sees it; or
    :class:`RateLimited` (429)."""
    state = request.app.state
    if budget.off or time.monotonic() < getattr(state, "limits_down_until", 0.0):
        return
    try:
        async with state.limit_pool.connection(timeout=LIMIT_STORE_TIMEOUT_S) as conn:
            wait = await limits.take(
                conn, budget.key(client_address(request)), budget.period, budget.burst
            )
    except (psycopg.OperationalError, PoolTimeout) as exc:
        # The budgets live on the primary; while it is down the residents' reads go on from a
        # replica, so the limit is waived (fails open) for a while rather than failing them.
        state.limits_down_until = time.monotonic() + LIMIT_STORE_BACKOFF_S
        log.warning(
            "rate-limit store unreachable (%s): limits waived for %.0f s",
            exc,
            LIMIT_STORE_BACKOFF_S,
        )
        return
    if wait > 0:
        raise RateLimited(wait)


async def limit_lookups(request: Request) -> None:
    """Dependency: one request of the client's lookup budget, or 429."""
    await spend(request, request.app.state.lookup_budget)


LookupLimit = Annotated[None, Depends(limit_lookups)]


class LoginThrottled(RateLimited):
    """Too many failed logins for one username or from one client address."""

    detail = "登录失败次数过多，请稍后再试"


@dataclass(frozen=True)
class LoginThrottle:
    """Failed logins per username and per client address, in budgets of ``max_failures``
    refilled over ``window_seconds``: after that many failures in a window, logins from the
    address or for the username answer 429 until the budget refills.

    A try is spent (and committed) before the password is checked, and given back when it was
    right: checking first and counting after would let guesses sent at once all pass the
    check while the slow password hash runs."""

    budget: Budget

    @classmethod
    def of(cls, max_failures: int, window_seconds: int) -> LoginThrottle:
        per_minute = max_failures * 60 / window_seconds if window_seconds > 0 else 0.0
        return cls(Budget("login", per_minute, max_failures))

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return (
            self.budget.key(f"user:{username.strip().lower()}"),
            self.budget.key(f"addr:{address}"),
        )

    def attempt(self, engine: Engine, username: str, address: str) -> None:
        """Spend one try of the username and one of the address, or raise
        :class:`LoginThrottled` (spending neither) when either has none left."""
        if self.budget.off:
            return
        budget = self.budget
        with engine.begin() as conn:  # a refusal rolls back the try already taken
            for key in self._keys(username, address):
                if (wait := limits.take_now(conn, key, budget.period, budget.burst)) > 0:
                    raise LoginThrottled(wait)

    def succeeded(self, engine: Engine, username: str, address: str) -> None:
        """Give back the tries of a login whose password was right."""
        if self.budget.off:
            return
        with engine.begin() as conn:
            for key in self._keys(username, address):
                limits.give_back(conn, key, self.budget.period)


FORGET_EVERY_S = 60.0


async def forget_full_budgets(pool: AsyncConnectionPool) -> None:
    """Background task of each server process: drop the budgets that have refilled, so the
    table holds only clients seen within their budget's refill time. A database that is down
    meanwhile is tried again next time."""
    while True:
        await asyncio.sleep(FORGET_EVERY_S)
        with contextlib.suppress(psycopg.Error, PoolTimeout):
            async with pool.connection() as conn:
                await limits.forget_full(conn)
