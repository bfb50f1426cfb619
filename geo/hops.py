"""The small moves of the greedy search (``geo.greedy``): one atom across a grid boundary, a
two-grid chain, households pushed hop by hop along a path of grids.

Each step looks only at the grids next to one grid out of band and keeps a move only when it
lowers the total violation (Σ households above the ceiling + Σ shortfall below the floor) and
leaves the losing grid in one piece, so the greedy search can take them in any order and stop
when none helps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from geo.labelling import violation
from geo.moves import MoveSearch


class Hops(MoveSearch):
    """Single moves, two-grid chains and pushes on a ``MoveSearch``."""

    def gain(self, atom: int, source: int, target: int) -> float:
        """Violation removed by moving ``atom`` from ``source`` to ``target``."""
        w = self.weight[atom]
        s, t = self.totals[source], self.totals[target]
        before = violation(s, self.band) + violation(t, self.band)
        return before - violation(s - w, self.band) - violation(t + w, self.band)

    def single(self, grid: int) -> tuple[tuple[float, float, int], int, int] | None:
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
            key = (g / max(self.cost[atom], 1.0), g, -atom)
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
                moved = self.cost[atom] + self.cost[passed]
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

    def path(self, grid: int, wanted: Callable[[int], bool]) -> list[int] | None:
        """Shortest path of adjacent grids from ``grid`` to the nearest one with ``wanted``."""
        parent: dict[int, int | None] = {grid: None}
        queue = [grid]
        for current in queue:
            if current != grid and wanted(current):
                path = [current]
                while (up := parent[path[-1]]) is not None:
                    path.append(up)
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
