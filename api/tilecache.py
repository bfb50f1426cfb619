"""A bounded in-memory cache of vector tiles that never change (tiles of a past or current
plan version), so a city's map draws from memory after its first visit."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass
class TileCache:
    """Least-recently-used tiles up to ``max_bytes`` in all, per server process."""

    max_bytes: int
    hits: int = 0
    misses: int = 0
    _tiles: OrderedDict[Hashable, bytes] = field(default_factory=OrderedDict)
    _bytes: int = 0

    def get(self, key: Hashable) -> bytes | None:
        body = self._tiles.get(key)
        if body is None:
            self.misses += 1
            return None
        self._tiles.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes or key in self._tiles:
            return
        self._tiles[key] = body
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _, dropped = self._tiles.popitem(last=False)
            self._bytes -= len(dropped)
