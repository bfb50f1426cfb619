"""Grids as integer labels of the atom graph's nodes: totals, moves, and whether a grid is in one
piece.

``Labelling`` keeps, for a labelling under change, each grid's atoms, households and a hash of its
atoms (which keys what a search remembers about a grid), and what moving each node costs: its
households that had a grid worker (all of them unless told otherwise). Whether a grid is in one
piece is decided on the *fragments* of the nodes (``Links``): an atom whose cells lie apart is
one node of ``geo.graph`` but several fragments, and a grid is one polygon only when its
fragments are connected. Parts holding no households (free faces only) do not count:
``geo.polygons`` gives them to a neighbouring grid. Atoms labelled -1 take no part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from geo.graph import AtomGraph


@dataclass(frozen=True)
class Links:
    """Adjacency of the *fragments* of the graph's nodes, for telling whether a grid is one
    polygon: an atom whose cells lie apart (buildings of a compound with another building's
    cell between them) is one node of ``geo.graph`` but several fragments here.

    Attributes
    ----------
    owner
        Node of each fragment; fragment ``i < graph.n`` is a part of node ``i``.
    u, v
        Fragment pairs whose cells share an edge, along edges of the graph's nodes.
    """

    owner: np.ndarray
    u: np.ndarray
    v: np.ndarray


def violation(total: float, band: tuple[int, int]) -> float:
    """Households above the ceiling or short of the floor."""
    low, high = band
    return max(0.0, total - high) + max(0.0, low - total)


def in_band(total: float, band: tuple[int, int]) -> bool:
    """Whether a grid of ``total`` households keeps the band."""
    return band[0] <= total <= band[1]


def lower_bound(totals, band: tuple[int, int]) -> int:
    """Fewest households any repair must move: Σ violation over grids."""
    return int(sum(violation(t, band) for t in totals))


def plan_violation(households, labels, band: tuple[int, int]) -> int:
    """``lower_bound`` of the grids of a node labelling (nodes labelled -1 in no grid): the
    households outside the band."""
    weight = np.asarray(households, dtype=float)
    labels = np.asarray(labels)
    keep = labels >= 0
    totals = np.bincount(np.unique(labels[keep], return_inverse=True)[1], weight[keep])
    return lower_bound(totals, band)


class Labelling:
    """Grid labels of the nodes of a graph, changed one move at a time."""

    def __init__(
        self, graph: AtomGraph, households, labels, band, links: Links | None = None, cost=None
    ):
        self.neighbours: list[set[int]] = [set() for _ in range(graph.n)]
        for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
            self.neighbours[a].add(b)
            self.neighbours[b].add(a)
        # connectivity is walked over fragments (``Links``); without them, over the nodes
        self.owner: list[int] = list(range(graph.n))
        self.links = self.neighbours
        if links is not None:
            self.owner = links.owner.tolist()
            self.links = [set() for _ in self.owner]
            for a, b in zip(links.u.tolist(), links.v.tolist(), strict=True):
                self.links[a].add(b)
                self.links[b].add(a)
        self.fragments: list[list[int]] = [[] for _ in range(graph.n)]
        for fragment, node in enumerate(self.owner):
            self.fragments[node].append(fragment)
        self.graph = graph
        self.weight = np.asarray(households, dtype=float)
        # what moving a node out of its grid costs: the households that had a grid worker
        self.cost = self.weight if cost is None else np.asarray(cost, dtype=float)
        self.labels = np.asarray(labels, dtype=int).copy()
        self.origin = self.labels.copy()
        self.band = band
        self.members: dict[int, set[int]] = defaultdict(set)
        for atom, label in enumerate(self.labels.tolist()):
            if label >= 0:
                self.members[label].add(atom)
        self.totals: dict[int, float] = defaultdict(float)
        for g, m in self.members.items():
            self.totals[g] = float(self.weight[list(m)].sum())
        # a hash of each grid's atoms keys what the search learns about the grid
        self.key = np.random.default_rng(0).integers(1, 2**62, graph.n).tolist()
        self.hash: dict[int, int] = defaultdict(int)
        for g, m in self.members.items():
            for atom in m:
                self.hash[g] ^= self.key[atom]
        self.memo: dict[tuple, object] = {}

    def bad(self) -> list[int]:
        worst = sorted(self.totals, key=lambda g: (-violation(self.totals[g], self.band), g))
        return [g for g in worst if violation(self.totals[g], self.band) > 0]

    def move(self, atom: int, target: int) -> None:
        source = self.labels[atom]
        self.members[source].discard(atom)
        self.members[target].add(atom)
        self.totals[source] -= self.weight[atom]
        self.totals[target] += self.weight[atom]
        self.hash[source] ^= self.key[atom]
        self.hash[target] ^= self.key[atom]
        self.labels[atom] = target
        if not self.members[source]:
            del self.members[source], self.totals[source], self.hash[source]

    def apply(self, steps) -> None:
        for atoms, _, target in steps:
            for atom in atoms:
                self.move(atom, target)

    def undo(self, steps) -> None:
        for atoms, source, _ in reversed(steps):
            for atom in atoms:
                self.move(atom, source)

    def restore(self, labels: np.ndarray) -> None:
        """Move every node whose label differs from ``labels`` back to it."""
        for node in np.flatnonzero(self.labels != labels).tolist():
            self.move(node, int(labels[node]))

    def boundary(self, grid: int) -> Iterator[tuple[int, int]]:
        """(atom of ``grid``, adjacent grid) pairs."""
        for atom in sorted(self.members[grid]):
            for other in sorted({self.labels[n] for n in self.neighbours[atom]} - {grid, -1}):
                yield atom, other

    def grid_neighbours(self, grid: int) -> set[int]:
        return {other for _, other in self.boundary(grid)}

    def pieces(self, nodes: set[int]) -> int:
        """Number of connected parts of ``nodes`` holding households (parts of free faces only
        do not count: ``geo.polygons`` gives them to a neighbouring grid)."""
        seen: set[int] = set()
        starts = sorted(f for node in nodes for f in self.fragments[node])
        return sum(self._part_holds(f, lambda k: self.owner[k] in nodes, seen) for f in starts)

    def _parts(self, grid: int) -> list[set[int]]:
        """Nodes of each part of ``grid`` holding households (free faces only in none)."""
        members = self.members[grid]
        seen: set[int] = set()
        parts = []
        for f in sorted(f for node in members for f in self.fragments[node]):
            before = set(seen)
            if self._part_holds(f, lambda k: self.owner[k] in members, seen):
                parts.append({self.owner[k] for k in seen - before})
        return parts

    def _part_holds(self, start: int, inside, seen: set[int], goal: set[int] | None = None):
        """Walk the part of the fragments ``inside`` around fragment ``start`` (skipped when
        ``seen``), adding it to ``seen``; whether it holds households. With ``goal``, stop
        early (True) once every fragment of ``goal`` is seen."""
        if start in seen:
            return False
        seen.add(start)
        queue = [start]  # breadth first, so that a walk with a ``goal`` nearby ends soon
        held = self.weight[self.owner[start]] > 0
        for current in queue:
            for nxt in self.links[current]:
                if nxt not in seen and inside(nxt):
                    seen.add(nxt)
                    queue.append(nxt)
                    held = held or self.weight[self.owner[nxt]] > 0
            if goal is not None and goal <= seen:
                return True
        return held

    def cut_off(self, atom: int, grid: int) -> set[int]:
        """Nodes of ``grid`` that taking ``atom`` out cuts off from the part of ``grid`` with the
        most households (the small buildings behind a compound, say); empty when none."""
        members = self.members[grid]
        owner = self.owner

        def inside(fragment: int) -> bool:
            return owner[fragment] in members and owner[fragment] != atom

        seen: set[int] = set()
        parts = []
        for f in sorted(f for n in members - {atom} for f in self.fragments[n]):
            if f not in seen:
                before = set(seen)
                self._part_holds(f, inside, seen)
                parts.append({owner[k] for k in seen - before})
        if len(parts) <= 1:
            return set()
        parts.sort(key=lambda part: (-float(self.weight[sorted(part)].sum()), min(part)))
        return set().union(*parts[1:]) - parts[0]

    def keeps_connected(self, atom: int, grid: int) -> bool:
        """Whether ``grid`` keeps atoms and is in no more parts without ``atom``."""
        return self.keeps_connected_without({atom}, grid)

    def keeps_connected_without(
        self, atoms: set[int], grid: int, gone: frozenset[int] | set[int] = frozenset()
    ) -> bool:
        """Whether ``grid`` keeps atoms and is in no more parts without ``atoms``; with ``gone``,
        whether ``grid`` without ``gone``, known to be one piece, stays one without ``atoms``.

        Only the parts of ``grid`` that ``atoms`` touch can change: what is left of them falls
        into the parts around the nodes next to ``atoms``, so it is one part when a walk from
        one of those nodes meets all of them (usually within a few steps)."""
        members = self.members[grid]
        if len(members) <= len(atoms & members) + len(gone & members):
            return False
        if gone:
            return self._keeps(atoms, grid, gone)
        # the searches test the same atoms of an unchanged grid again and again
        key = ("keeps", frozenset(atoms), grid, self.hash[grid])
        if key not in self.memo:
            self.memo[key] = self._keeps(atoms, grid, gone)
        return bool(self.memo[key])

    def _keeps(self, atoms: set[int], grid: int, gone: frozenset[int] | set[int]) -> bool:
        members = self.members[grid]
        owner = self.owner

        def inside(fragment: int) -> bool:
            node = owner[fragment]
            return node in members and node not in atoms and node not in gone

        near = {n for a in atoms for f in self.fragments[a] for n in self.links[f] if inside(n)}
        seen: set[int] = set()
        after = 0
        for start in sorted(near):
            after += self._part_holds(start, inside, seen, near if not seen else None)
            if after > 1:
                break
        if after <= 1:
            return True
        if gone or self.in_one_piece(grid):
            return False
        touched: set[int] = set()
        starts = sorted(f for a in atoms & members for f in self.fragments[a])
        before = sum(self._part_holds(f, lambda k: owner[k] in members, touched) for f in starts)
        return after <= before

    def in_one_piece(self, grid: int) -> bool:
        """Whether ``grid`` is in at most one part holding households (remembered per set of
        atoms, so a search that keeps testing the same grid walks it once)."""
        key = ("whole", grid, self.hash[grid])
        if key not in self.memo:
            self.memo[key] = self.pieces(self.members[grid]) <= 1
        return bool(self.memo[key])

    def joins(self, atoms: set[int], grid: int) -> bool:
        """Whether ``grid`` takes ``atoms`` without falling into more pieces: every fragment of
        ``atoms`` reaches a part of ``grid`` holding households (not just its free faces)
        through ``grid`` and ``atoms``; a grid without households takes them in one piece."""
        members = self.members.get(grid, set())
        owner = self.owner
        pending = {f for a in atoms for f in self.fragments[a]}
        empty = not any(self.weight[a] > 0 for a in members)

        def inside(fragment: int) -> bool:
            return owner[fragment] in members or owner[fragment] in atoms

        def landed(fragment: int) -> bool:
            return owner[fragment] in members and self.weight[owner[fragment]] > 0

        while pending:
            seen = {min(pending)}
            stack = list(seen)
            while stack and not any(landed(f) for f in stack):
                nxt = [n for f in stack for n in self.links[f] if n not in seen and inside(n)]
                seen.update(nxt)
                stack = nxt
            if not stack and not (empty and pending <= seen):
                return False
            pending -= seen
        return True
