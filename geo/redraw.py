"""Grids drawn afresh where moving atoms one by one does not help: an over-full grid split into
more grids (alone or with its neighbours), an under-full one dissolved into its neighbours, and a
grid no move fixes redrawn together with the grids around it.

The new grids come from the randomised search of ``geo.partition`` (and, on small regions, the
exhaustive one of ``geo.exhaustive``); their labels are matched to the old ones so that the most
households keep their grid (``Redrawing.naming``), and a drawing is kept only when every grid in
it is in one piece (``geo.labelling``).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment

from geo.exhaustive import MAX_NODES, Undecided, exhaustive_partition
from geo.moves import MoveSearch
from geo.partition import feasible_counts, partition

#: Rings of neighbouring grids a re-balancing redraws at most around a grid no move fixes, and
#: the connected sets the exhaustive search may try on each.
REDRAW_RINGS = 2
REDRAW_BUDGET = 20_000

#: (households moved, parts, their labels): one way to draw some grids (``Redrawing.drawing``).
Drawing = tuple[float, list[np.ndarray], list[int]]


class Redrawing(MoveSearch):
    """Splits, dissolves and redraws on a ``MoveSearch``; ``rng`` draws the new grids."""

    rng: np.random.Generator

    def restructure(self, grid: int, cheapest: bool) -> None:
        """Split an over-full grid (with one or two neighbours when too small to halve) into
        more grids, the ``cheapest`` split tried or the first found; or dissolve an under-full
        one into its neighbours. A split adds one grid, or as few as the households need (a
        grid grown past twice the ceiling)."""
        if self.totals[grid] > self.band[1]:
            near = sorted(self.grid_neighbours(grid), key=lambda g: (-self.totals[g], g))
            groups = [[grid], *([grid, other] for other in near)]
            groups += [[grid, *pair] for pair in itertools.combinations(near, 2)]
            best = None
            for group in groups:
                total = sum(self.totals[g] for g in group)
                more = [k for k in feasible_counts(total, self.band) if k > len(group)]
                if not more:
                    continue
                nodes = np.array(sorted(set().union(*(self.members[g] for g in group))))
                parts = partition(
                    self.graph, self.weight, nodes, self.band, self.rng, counts=[min(more)]
                )
                drawn = self.drawing(parts, group, nodes)
                if drawn is None:
                    continue
                if best is None or drawn[0] < best[0]:
                    best = drawn
                if not cheapest:
                    break
            if best is not None:
                self.adopt(best)
            return
        pending = sorted(self.members[grid])
        while pending:
            left = []
            for atom in pending:
                others = sorted(
                    {self.labels[n] for n in self.neighbours[atom]} - {grid, -1},
                    key=lambda g: (self.totals[g], g),
                )
                # the smallest neighbour that takes it in one piece; a free face holds no one
                fits = [g for g in others if self.weight[atom] == 0 or self.joins({atom}, g)]
                if fits:
                    self.move(int(atom), fits[0])
                else:
                    left.append(atom)
            if len(left) == len(pending):
                break
            pending = left

    def drawing(
        self, parts: list[np.ndarray] | None, group: list[int], nodes: np.ndarray
    ) -> Drawing | None:
        """(households moved, ``parts``, their labels by ``naming``) for drawing the grids
        ``group`` (holding ``nodes``) as ``parts``; None without parts or when a part is in
        pieces (parts are connected nodes, but a node's cells may lie apart)."""
        if parts is None or any(self.pieces(set(part.tolist())) > 1 for part in parts):
            return None
        names, kept = self.naming(parts, group)
        return float(self.cost[nodes].sum()) - kept, parts, names

    def adopt(self, drawn: Drawing) -> None:
        """Move every node to its part's label in a ``drawing``."""
        _, parts, names = drawn
        for part, label in zip(parts, names, strict=True):
            for node in part.tolist():
                if self.labels[node] != label:
                    self.move(node, label)

    def naming(self, parts: list[np.ndarray], labels: list[int]) -> tuple[list[int], float]:
        """Labels for ``parts`` (the old ``labels``, then new ones) that keep the most
        households in their grid (an assignment problem), and the households kept."""
        new = max(self.totals) + 1
        names = [*labels, *range(new, new + max(0, len(parts) - len(labels)))]
        held = np.array(
            [[self.cost[part[self.labels[part] == g]].sum() for g in names] for part in parts]
        )
        rows, cols = linear_sum_assignment(held, maximize=True)
        return [names[c] for c in cols[np.argsort(rows)]], float(held[rows, cols].sum())

    def redraw(self, grid: int) -> None:
        """Draw ``grid`` and the grids around it afresh, one ring of neighbours wider each time
        until a division of them in band is found (the randomised search, then the exhaustive
        one on small regions); of the grid counts that work, the one moving fewest households.

        The last resort of a re-balancing: where compounds are lumpy no chain of moves may
        exist, yet a new boundary between three or four grids does."""
        region = {grid}
        for _ in range(REDRAW_RINGS):
            wider = region | {g for member in region for g in self.grid_neighbours(member)}
            if wider == region:
                return
            region = wider
            group = sorted(region)
            nodes = np.array(sorted(set().union(*(self.members[g] for g in group))))
            best = None
            counts = feasible_counts(float(self.weight[nodes].sum()), self.band)
            for count in sorted(set(counts) & {len(group) - 1, len(group), len(group) + 1}):
                parts = partition(self.graph, self.weight, nodes, self.band, self.rng, [count])
                if parts is None and len(nodes) <= MAX_NODES:
                    try:
                        parts = exhaustive_partition(
                            self.graph, self.weight, nodes, self.band, REDRAW_BUDGET
                        )
                    except Undecided:
                        parts = None
                drawn = self.drawing(parts, group, nodes)
                if drawn is not None and (best is None or drawn[0] < best[0]):
                    best = drawn
            if best is not None:
                self.adopt(best)
                return

    def split(self, grid: int) -> bool:
        """Split an over-full ``grid`` (alone or with neighbours) into one more grid, the
        split moving the fewest households (``restructure``); whether it did. Before the greedy
        search, whose single moves would pass its households on from grid to grid."""
        if self.totals[grid] <= self.band[1]:
            return False
        before = self.labels.copy()
        self.restructure(grid, cheapest=True)
        return bool((self.labels != before).any())
