"""A new grid opened from the edge of an over-full grid that no chain of moves shrinks: a grid
of a few large compounds, or one grown past the ceiling by a new tower.

Part of its border (or its smaller half) becomes the new grid, and the cheapest chains
(``MoveSearch.shortest_chain``) fill the new grid and what is left; of the openings tried, the
one moving the fewest households is kept. A step of the re-balancing
(``geo.repair.rebalance_labels``) when fixing the grid through its neighbours finds nothing.
"""

from __future__ import annotations

import numpy as np

from geo.labelling import violation
from geo.moves import MoveSearch
from geo.partition import partition


class Founding(MoveSearch):
    """New grids opened on a ``MoveSearch``; ``rng`` draws the halves of a grid."""

    rng: np.random.Generator

    def found(self, grid: int) -> bool:
        """Open a new grid from the edge of an over-full ``grid``: a border atom or bundle of
        it moves to the new grid, then the cheapest chains fill the new grid and what is left
        of ``grid`` (``shortest_chain``). Of the openings tried, the one moving the fewest
        households that leaves every grid it touched in band and no other grid worse; False
        when none does. For grids of a few large compounds, which no chain can shrink.

        A grid over the ceiling by more than a grid holds needs several new grids: it may stay
        over the ceiling (by less), to found the next one in the next round; a new tower of
        six entrances, say, becomes two new grids each topped up by a few buildings."""
        low, high = self.band
        if self.totals[grid] <= high:
            return False
        start = self.labels.copy()
        base = {g: violation(t, self.band) for g, t in self.totals.items()}
        fresh = max(self.totals) + 1
        several = self.totals[grid] - high > high
        allowed = {**base, fresh: 0.0, grid: base[grid] if several else 0.0}
        best: tuple[float, np.ndarray] | None = None
        offers = list(self._offers(grid, fresh, [self.totals[grid] - high, low], set()))
        if self.totals[grid] >= 2 * low:
            # a grid big enough for two may simply be halved: the smaller half moves
            nodes = np.array(sorted(self.members[grid]))
            halves = partition(self.graph, self.weight, nodes, self.band, self.rng, counts=[2])
            if halves is not None and self.pieces(set(halves[0].tolist())) == 1:
                smaller = min(halves, key=lambda half: (float(self.weight[half].sum()), half[0]))
                if self.pieces(set(smaller.tolist())) == 1:
                    offers.append(tuple(smaller.tolist()))
        for atoms in offers:
            self.apply([(atoms, grid, fresh)])
            for g in (fresh,) if several else (fresh, grid):
                while violation(self.totals.get(g, 0.0), self.band) > 0:
                    if not self.shortest_chain(g):
                        break
            worse = any(
                violation(t, self.band) > allowed.get(g, 0.0) + 1e-9 for g, t in self.totals.items()
            )
            cost = float(self.cost[self.labels != start].sum())
            if not worse and (best is None or cost < best[0]):
                best = (cost, self.labels.copy())
            self.restore(start)
        if best is None:
            return False
        self.restore(best[1])
        return True
