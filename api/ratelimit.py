"""Per-client rate limiting of the public lookups, so staff phone lists can't be scraped in bulk.

A token bucket per client address, in the memory of each server process: a client may make
``burst`` lookups at once, then ``rate_per_minute``. With N worker processes a client gets at
most N times that. Behind a reverse proxy set ``WANGGE_TRUSTED_PROXY`` so the address comes from
``X-Forwarded-For``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

MAX_CLIENTS = 100_000
"""Buckets kept before the idle ones are dropped (bounds the memory a flood can take)."""


class RateLimited(Exception):
    """Too many lookups from one client; ``retry_after`` seconds until the next is allowed."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


@dataclass
class TokenBuckets:
    rate_per_minute: int
    burst: int
    clock: object = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, client: str) -> None:
        """Spend one token of ``client``'s bucket or raise :class:`RateLimited`."""
        if self.rate_per_minute <= 0:
            return
        now = self.clock()
        rate = self.rate_per_minute / 60.0
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            raise RateLimited((1.0 - tokens) / rate)
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_CLIENTS:
            self._forget_idle(now, rate)

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
