"""Repair band violations of a grid labelling by moving few households across grid boundaries.

Greedy local search on the atom graph, shared by ``geo.divide`` (to finish a search that fell
short) and ``geo.rebalance`` (after household counts change):

1. *Single moves*: an atom on the boundary of a violating grid moves to an adjacent grid, or an
   atom of an adjacent grid moves into an under-full grid. The move must lower the total
   violation (Σ households above the ceiling + Σ shortfall below the floor), keep the losing
   grid connected, and is chosen by violation removed per household moved.
2. *Chains*: when no single move helps, an atom moves into a full neighbour while that neighbour
   passes another atom on to a third grid with room; failing that, households are pushed along
   the shortest path of grids to the nearest grid with room (or pulled from the nearest grid
   with a surplus), one boundary atom per hop, kept only if the total violation drops.
3. *Structure*: a grid that still exceeds the ceiling and holds at least twice the floor is split
   in two (``geo.partition``); a grid that is still under the floor is dissolved into its
   neighbours.

Grids are identified by integer labels; a split creates the next unused label. Atoms labelled -1
take no part (other connected parts of the community).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from geo.graph import AtomGraph
from geo.partition import partition

MAX_ROUNDS = 400
#: Longest chain of grids ``shortest_chain`` tries, and states it settles per grid.
CHAIN_HOPS = 6
CHAIN_STATES = 3


def violation(total: float, band: tuple[int, int]) -> float:
    """Households above the ceiling or short of the floor."""
    low, high = band
    return max(0.0, total - high) + max(0.0, low - total)


def lower_bound(totals, band: tuple[int, int]) -> int:
    """Fewest households any repair must move: Σ violation over grids."""
    return int(sum(violation(t, band) for t in totals))


class _Repair:
    def __init__(self, graph: AtomGraph, households, labels, band, rng, keep_households=False):
        self.keep_households = keep_households
        self.neighbours: list[set[int]] = [set() for _ in range(graph.n)]
        for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
            self.neighbours[a].add(b)
            self.neighbours[b].add(a)
        self.graph = graph
        self.weight = np.asarray(households, dtype=float)
        self.labels = np.asarray(labels, dtype=int).copy()
        self.band = band
        self.rng = rng
        self.members: dict[int, set[int]] = defaultdict(set)
        for atom, label in enumerate(self.labels.tolist()):
            if label >= 0:
                self.members[label].add(atom)
        self.totals: dict[int, float] = defaultdict(float)
        for g, m in self.members.items():
            self.totals[g] = float(self.weight[list(m)].sum())

    def bad(self) -> list[int]:
        worst = sorted(self.totals, key=lambda g: (-violation(self.totals[g], self.band), g))
        return [g for g in worst if violation(self.totals[g], self.band) > 0]

    def gain(self, atom: int, source: int, target: int) -> float:
        """Violation removed by moving ``atom`` from ``source`` to ``target``."""
        w = self.weight[atom]
        s, t = self.totals[source], self.totals[target]
        before = violation(s, self.band) + violation(t, self.band)
        return before - violation(s - w, self.band) - violation(t + w, self.band)

    def pieces(self, nodes: set[int]) -> int:
        """Number of connected parts of ``nodes`` holding households (parts of free faces only
        do not count: ``geo.polygons`` gives them to a neighbouring grid)."""
        seen: set[int] = set()
        count = 0
        for start in nodes:
            if start in seen:
                continue
            seen.add(start)
            stack = [start]
            held = self.weight[start] > 0
            while stack:
                for nxt in self.neighbours[stack.pop()]:
                    if nxt in nodes and nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
                        held = held or self.weight[nxt] > 0
            count += held
        return count

    def keeps_connected(self, atom: int, grid: int) -> bool:
        """Whether ``grid`` keeps atoms and is in no more parts without ``atom``."""
        return self.keeps_connected_without({atom}, grid)

    def boundary(self, grid: int) -> Iterator[tuple[int, int]]:
        """(atom of ``grid``, adjacent grid) pairs."""
        for atom in sorted(self.members[grid]):
            for other in sorted({self.labels[n] for n in self.neighbours[atom]} - {grid, -1}):
                yield atom, other

    def move(self, atom: int, target: int) -> None:
        source = self.labels[atom]
        self.members[source].discard(atom)
        self.members[target].add(atom)
        self.totals[source] -= self.weight[atom]
        self.totals[target] += self.weight[atom]
        self.labels[atom] = target
        if not self.members[source]:
            del self.members[source], self.totals[source]

    def shortest_chain(self, grid: int) -> bool:
        """Fix ``grid`` by the chain of moves between adjacent grids that moves the fewest
        households (Dijkstra over grids): an over-full grid passes boundary atoms to a
        neighbour, which passes some on while it would exceed the ceiling, until a grid with room
        takes them; an under-full grid is filled the same way in reverse. Each hop moves one
        atom or a connected bundle of small atoms; every grid on the chain ends in band."""
        low, high = self.band
        over = self.totals[grid] > high
        heap = [(0.0, 0, grid, 0.0, (), ())]
        settled: dict[int, int] = defaultdict(int)
        count = 0
        while heap:
            cost, _, current, carried, came, path = heapq.heappop(heap)
            if current != grid and self._absorbs(current, carried, over):
                for atoms, target in path:
                    for atom in atoms:
                        self.move(atom, target)
                return True
            if settled[current] >= CHAIN_STATES or len(path) >= CHAIN_HOPS:
                continue
            settled[current] += 1
            on_path = {grid} | {target for _, target in path}
            on_path |= {self.labels[atoms[0]] for atoms, _ in path}
            amount = self.totals[current] + (carried if over else -carried)
            need = amount - high if over else low - amount
            for other in sorted(self.grid_neighbours(current) - on_path):
                source, target = (current, other) if over else (other, current)
                for atoms in self._bundles(source, target, max(need, 0.0), set(came)):
                    w = float(self.weight[list(atoms)].sum())
                    after = amount - w if over else amount + w
                    if not (low <= after <= high):
                        continue
                    count += 1
                    step = (atoms, other) if over else (atoms, current)
                    heapq.heappush(heap, (cost + w, count, other, w, atoms, (*path, step)))
        return False

    def _bundles(self, source: int, target: int, need: float, skip: set[int]):
        """Atoms of ``source`` next to ``target`` that ``source`` can give without falling
        apart: each single atom, and a bundle grown from the border until it holds ``need``
        (each time the atom nearest the households still missing)."""
        border = sorted(
            atom
            for atom in self.members[source] - skip
            if any(self.labels[n] == target for n in self.neighbours[atom])
        )
        for atom in border:
            if self.keeps_connected_without({atom}, source):
                yield (atom,)
        if need <= 0:
            return
        bundle: set[int] = set()
        total = 0.0
        frontier = set(border)
        while total < need and frontier:
            left = need - total
            pick = min(
                sorted(frontier), key=lambda a: (self.weight[a] > left, abs(left - self.weight[a]))
            )
            frontier.discard(pick)
            if not self.keeps_connected_without(bundle | {pick}, source):
                continue
            bundle.add(pick)
            total += self.weight[pick]
            frontier |= (self.neighbours[pick] & self.members[source]) - bundle - skip
        if total >= need:
            yield tuple(sorted(bundle))

    def keeps_connected_without(self, atoms: set[int], grid: int) -> bool:
        """Whether ``grid`` keeps atoms and is in no more parts without ``atoms``."""
        rest = self.members[grid] - atoms
        return bool(rest) and self.pieces(rest) <= self.pieces(self.members[grid])

    def _absorbs(self, grid: int, carried: float, over: bool) -> bool:
        """Whether ``grid`` can take (``over``) or give ``carried`` households and not be worse."""
        low, high = self.band
        after = self.totals[grid] + (carried if over else -carried)
        return violation(after, self.band) <= violation(self.totals[grid], self.band) and (
            after <= high if over else after >= low
        )

    def single(self, grid: int) -> tuple | None:
        """Best single move touching ``grid``: (score, atom, target)."""
        moves = [(atom, other) for atom, other in self.boundary(grid)]
        incoming = [
            (n, grid)
            for atom, other in moves
            for n in self.neighbours[atom]
            if self.labels[n] == other
        ]
        best = None
        for atom, target in moves + incoming:
            source = self.labels[atom]
            g = self.gain(atom, source, target)
            if g <= 1e-9 or not self.keeps_connected(atom, source):
                continue
            key = (g / max(self.weight[atom], 1.0), g, -atom)
            if best is None or key > best[0]:
                best = (key, atom, target)
        return best

    def chain(self, grid: int) -> bool:
        """Move an atom of an over-full ``grid`` into a neighbour that passes one on."""
        before = {g: violation(t, self.band) for g, t in self.totals.items()}
        best = None
        for atom, middle in self.boundary(grid):
            if not self.keeps_connected(atom, grid):
                continue
            self.move(atom, middle)
            for passed, target in self.boundary(middle):
                if passed == atom or target == grid or not self.keeps_connected(passed, middle):
                    continue
                w = self.weight[passed]
                after = (
                    violation(self.totals[grid], self.band)
                    + violation(self.totals[middle] - w, self.band)
                    + violation(self.totals[target] + w, self.band)
                )
                gain = before[grid] + before[middle] + before[target] - after
                moved = self.weight[atom] + w
                key = (gain / max(moved, 1.0), gain, -atom, -passed)
                if gain > 1e-9 and (best is None or key > best[0]):
                    best = (key, atom, middle, passed, target)
            self.move(atom, grid)
        if best is None:
            return False
        _, atom, middle, passed, target = best
        self.move(atom, middle)
        self.move(passed, target)
        return True

    def grid_neighbours(self, grid: int) -> set[int]:
        return {other for _, other in self.boundary(grid)}

    def path(self, grid: int, wanted) -> list[int] | None:
        """Shortest path of adjacent grids from ``grid`` to the nearest one with ``wanted``."""
        parent = {grid: None}
        queue = [grid]
        for current in queue:
            if current != grid and wanted(current):
                path = [current]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            for nxt in sorted(self.grid_neighbours(current)):
                if nxt not in parent:
                    parent[nxt] = current
                    queue.append(nxt)
        return None

    def hop(self, source: int, target: int, need: float) -> int | None:
        """Move the smallest boundary atom of ``source`` next to ``target`` covering ``need``."""
        options = sorted(
            {a for a, other in self.boundary(source) if other == target},
            key=lambda a: (
                self.weight[a] < need,
                self.weight[a] if self.weight[a] >= need else -self.weight[a],
                a,
            ),
        )
        for atom in options:
            if self.keeps_connected(atom, source):
                self.move(atom, target)
                return atom
        return None

    def push(self, grid: int) -> bool:
        """Pass households along a path of grids from an over-full ``grid`` or to an under-full
        one; undone unless the total violation drops."""
        low, high = self.band
        before = sum(violation(t, self.band) for t in self.totals.values())
        over = self.totals[grid] > high
        if over:
            path = self.path(grid, lambda g: self.totals[g] < high)
            need = self.totals[grid] - high
        else:
            path = self.path(grid, lambda g: self.totals[g] > low)
            need = low - self.totals[grid]
            path = None if path is None else path[::-1]
        if path is None:
            return False
        done = []
        for source, target in itertools.pairwise(path):
            atom = self.hop(source, target, need)
            if atom is None:
                break
            done.append((atom, source))
        if sum(violation(t, self.band) for t in self.totals.values()) < before - 1e-9:
            return True
        for atom, source in reversed(done):
            self.move(atom, source)
        return False

    def restructure(self, grid: int) -> None:
        """Split an over-full grid (with one or two neighbours when too small to halve) into
        one more grid, or dissolve an under-full one into its neighbours."""
        low, high = self.band
        if self.totals[grid] > high:
            groups = [[grid]] if self.totals[grid] >= 2 * low else []
            near = sorted(self.grid_neighbours(grid), key=lambda g: (-self.totals[g], g))
            groups += [[grid, other] for other in near]
            groups += [[grid, *pair] for pair in itertools.combinations(near, 2)]
            groups = [
                group
                for group in groups
                if sum(self.totals[g] for g in group) >= (len(group) + 1) * low
            ]
            best = None
            for group in groups:
                nodes = np.array(sorted(set().union(*(self.members[g] for g in group))))
                parts = partition(
                    self.graph, self.weight, nodes, self.band, self.rng, counts=[len(group) + 1]
                )
                if parts is None:
                    continue
                names, kept = self.naming(parts, group)
                moved = float(self.weight[nodes].sum()) - kept
                if best is None or moved < best[0]:
                    best = (moved, parts, names)
                if not self.keep_households:
                    break  # a fresh division: the first split found will do
            if best is not None:
                for part, label in zip(best[1], best[2], strict=True):
                    for atom in part:
                        if self.labels[atom] != label:
                            self.move(int(atom), label)
            return
        for atom in sorted(self.members[grid]):
            others = sorted(
                {self.labels[n] for n in self.neighbours[atom]} - {grid, -1},
                key=lambda g: (self.totals[g], g),
            )
            if others:
                self.move(int(atom), others[0])

    def naming(self, parts: list[np.ndarray], labels: list[int]) -> tuple[list[int], float]:
        """Labels for ``parts`` (the old ``labels`` and one new one) that keep the most
        households in their grid, and the households kept."""
        new = max(self.totals) + 1
        held = [
            {g: float(self.weight[part[self.labels[part] == g]].sum()) for g in labels}
            for part in parts
        ]
        best: tuple[float, tuple[int, ...]] | None = None
        for names in itertools.permutations([*labels, new], len(parts)):
            kept = sum(h.get(g, 0.0) for h, g in zip(held, names, strict=True))
            if best is None or kept > best[0]:
                best = (kept, names)
        assert best is not None
        return list(best[1]), best[0]

    def run(self) -> np.ndarray:
        stuck: set[int] = set()
        for _ in range(MAX_ROUNDS):
            bad = self.bad()
            if not bad:
                break
            progressed = False
            for grid in bad:
                if self.shortest_chain(grid):
                    progressed = True
                    break
                best = self.single(grid)
                if best is not None:
                    self.move(best[1], best[2])
                    progressed = True
                    break
                early_chain = not self.keep_households and self.totals[grid] > self.band[1]
                if (early_chain and self.chain(grid)) or self.push(grid):
                    progressed = True
                    break
            if progressed:
                continue
            grid = next((g for g in bad if g not in stuck), None)
            if grid is not None:
                stuck.add(grid)
                before = self.labels.copy()
                self.restructure(grid)
                if (self.labels != before).any():
                    continue
            # Re-balancing: a two-grid chain often moves whole compounds, so it comes last.
            chained = self.keep_households and any(
                self.totals[g] > self.band[1] and self.chain(g) for g in bad
            )
            if not chained and grid is None:
                break
        return self.labels


def repair(
    graph: AtomGraph,
    households: np.ndarray,
    labels: np.ndarray,
    band: tuple[int, int],
    rng: np.random.Generator,
    *,
    keep_households: bool = False,
) -> np.ndarray:
    """Labels with as few households moved as the greedy search finds; violations may remain.

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per atom.
    labels
        Integer grid label per atom; each grid connected.
    band
        (low, high) households per grid.
    rng
        Random generator, used when a grid has to be split.
    keep_households
        Re-balancing a plan people live with: the split of last resort tries every group and
        keeps the labelling that moves the fewest households, and two-grid chains (which move
        whole compounds) come last. A fresh division takes the first split found and tries
        chains early, which divides more communities.

    Returns
    -------
    numpy.ndarray
        New integer label per atom. Check the totals: a violation remains when no move, chain,
        split or merge the search tried could remove it.
    """
    return _Repair(graph, households, labels, band, rng, keep_households).run()
