"""One grid out of band brought into band through its neighbours, the cheaper way found:
the best-first search (``MoveSearch.fix``), or ``spread``, which fills an under-full grid from
several neighbours at once (or drains an over-full one into several) by a knapsack over them;
or, for a small under-full grid, ``dissolve``, which gives its atoms away.

``fix`` reaches a plan that needs every neighbour at once only step by step, and often not
within its states; and an under-full grid holding fewer households than it lacks moves fewer
by going than by being filled. These are the first steps of a re-balancing
(``geo.repair.rebalance_labels``), tried on each grid out of band.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from geo.labelling import violation
from geo.moves import MoveSearch

#: Cheapest choices of ``Spreading.spread`` tried until one keeps every grid in one piece.
SPREAD_TRIES = 5

#: Atoms that move together, and the grid they move to.
Move = tuple[tuple[int, ...], int]


class Spreading(MoveSearch):
    """Fixes of one grid through its neighbours on a ``MoveSearch``."""

    def fix_or_dissolve(self, grid: int) -> bool:
        """``fix([grid])``; an under-full grid holding no more than it lacks is first
        dissolved, as no filling moves fewer households; one that no move fills, last."""
        total = self.totals[grid]
        first = total < self.band[0] and total <= self.band[0] - total
        return (first and self.dissolve(grid)) or self.fix_or_spread(grid) or self.dissolve(grid)

    def fix_or_spread(self, grid: int) -> bool:
        """``fix([grid])`` or ``spread(grid)``, whichever moves fewer households."""
        start = self.labels.copy()
        plans: list[tuple[float, int, np.ndarray]] = []
        steps: tuple[Callable[[], bool], ...] = (
            lambda: self.fix([grid]),
            lambda: self.spread(grid),
        )
        for step in steps:
            if step():
                moved = float(self.cost[self.labels != self.origin].sum())
                plans.append((moved, len(plans), self.labels.copy()))
            self.restore(start)
        if not plans:
            return False
        self.restore(min(plans, key=lambda plan: plan[:2])[2])
        return True

    def spread(self, grid: int) -> bool:
        """Fill an under-full ``grid`` from several neighbours at once, or drain an over-full
        one into several: one border atom (with what hangs on it) per neighbour, each
        neighbour staying in band; of the choices that bring ``grid`` into band, the one moving
        the fewest households (a knapsack over the neighbours), when its moves keep every grid
        in one piece. ``fix`` reaches such a plan only step by step, and often not within its
        states (a grid 46 short next to three grids that can spare 20-40 each)."""
        low, high = self.band
        total = self.totals[grid]
        over = total > high
        need, cap = (total - high, total - low) if over else (low - total, high - total)
        if need <= 0:
            return False
        # households gathered -> (cost, moves); one option per neighbour at most
        states: dict[float, tuple[float, tuple[Move, ...]]] = {0.0: (0.0, ())}
        for other in sorted(self.grid_neighbours(grid)):
            room = high - self.totals[other] if over else self.totals[other] - low
            source, target = (grid, other) if over else (other, grid)
            options = []
            for atoms in self._bundles(source, target, 0.0, set()):
                w = float(self.weight[list(atoms)].sum())
                if 0 < w <= room:
                    options.append((w, float(self.cost[list(atoms)].sum()), (atoms, target)))
            after = dict(states)
            for gathered, (paid, moves) in states.items():
                for w, c, move in options:
                    h = gathered + w
                    if h <= cap and (h not in after or paid + c < after[h][0]):
                        after[h] = (paid + c, (*moves, move))
            states = after
        start = self.labels.copy()
        reached = sorted((paid, h, moves) for h, (paid, moves) in states.items() if h >= need)
        for _, _, moves in reached[:SPREAD_TRIES]:
            # an atom next to two neighbours may be offered to both: the totals tell
            grids = {grid, *(self.labels[atoms[0]] for atoms, _ in moves)}
            grids |= {target for _, target in moves}
            if self.commit(moves) and all(violation(self.totals[g], self.band) == 0 for g in grids):
                return True
            self.restore(start)
        return False

    def dissolve(self, grid: int) -> bool:
        """Give every atom of an under-full ``grid`` to a neighbouring grid with room (the
        emptiest one that takes it in one piece), those next to other grids first; undone and
        False unless all go. Moves the grid's households, which beats filling it when they are
        fewer than it lacks."""
        low, high = self.band
        if self.totals[grid] >= low:
            return False
        start = self.labels.copy()
        pending = sorted(self.members[grid])
        while pending:
            left = []
            for atom in pending:
                w = self.weight[atom]
                fits = sorted(
                    (self.totals[g], g)
                    for g in {self.labels[n] for n in self.neighbours[atom]} - {grid, -1}
                    if self.totals[g] + w <= high and (w == 0 or self.joins({atom}, g))
                )
                if fits:  # what is left of ``grid`` may fall apart: it goes entirely
                    self.move(atom, fits[0][1])
                else:
                    left.append(atom)
            if len(left) == len(pending):
                self.restore(start)
                return False
            pending = left
        return True
