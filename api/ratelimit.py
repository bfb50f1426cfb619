"""Per-client rate limiting of the public lookups, so staff phone lists can't be scraped in bulk.

A token bucket per client address, in the memory of each server process: a client may make
``burst`` lookups at once, then ``rate_per_minute``. With N worker processes a client gets at
most N times that. Behind a reverse proxy set ``WANGGE_TRUSTED_PROXY`` so the address comes from
``X-Forwarded-For``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

MAX_CLIENTS = 100_000
"""Buckets kept before the idle ones are dropped (bounds the memory a flood can take)."""


class RateLimited(Exception):
    """Too many lookups from one client; ``retry_after`` seconds until the next is allowed."""

    detail = "查询过于频繁，请稍后再试 (too many lookups, try again later)"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


@dataclass
class TokenBuckets:
    rate_per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, client: str) -> None:
        """Spend one token of ``client``'s bucket or raise :class:`RateLimited`."""
        if self.rate_per_minute <= 0:
            return
        now = self.clock()
        rate = self.rate_per_minute / 60.0
        tokens = self._tokens(client, now, rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            raise RateLimited((1.0 - tokens) / rate)
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_CLIENTS:
            self._forget_idle(now, rate)

    def check(self, client: str, error: type[RateLimited] = RateLimited) -> None:
        """Raise ``error`` if ``client``'s bucket is empty, without spending a token."""
        if self.rate_per_minute <= 0:
            return
        rate = self.rate_per_minute / 60.0
        tokens = self._tokens(client, self.clock(), rate)
        if tokens < 1.0:
            raise error((1.0 - tokens) / rate)

    def _tokens(self, client: str, now: float, rate: float) -> float:
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * rate)

    def _forget_idle(self, now: float, rate: float) -> None:
        full_after = self.burst / rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def client_address(request: Request) -> str:
    if request.app.state.settings.trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


async def limit_lookups(request: Request) -> None:
    """Dependency: one token of the client's lookup bucket."""
    request.app.state.lookup_buckets.take(client_address(request))


LookupLimit = Annotated[None, Depends(limit_lookups)]


class LoginThrottled(RateLimited):
    """Too many failed logins for one username or from one client address."""

    detail = "登录失败次数过多，请稍后再试 (too many failed logins, try again later)"


@dataclass
class LoginThrottle:
    """Failed logins per username and per client address, in token buckets of ``max_failures``
    refilled over ``window_seconds``: after that many failures in a window, logins from the
    address or for the username answer 429 until the bucket refills. In memory, per server
    process (with N workers an attacker gets N times the budget)."""

    buckets: TokenBuckets

    @classmethod
    def of(cls, max_failures: int, window_seconds: int) -> LoginThrottle:
        per_minute = max_failures * 60 / window_seconds if window_seconds > 0 else 0.0
        return cls(TokenBuckets(per_minute, max_failures))

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"user:{username.strip().lower()}", f"addr:{address}"

    def check(self, username: str, address: str) -> None:
        """Raise :class:`LoginThrottled` when the username or the address has no tries left."""
        for key in self._keys(username, address):
            self.buckets.check(key, LoginThrottled)

    def failed(self, username: str, address: str) -> None:
        for key in self._keys(username, address):
            with contextlib.suppress(RateLimited):
                self.buckets.take(key)
