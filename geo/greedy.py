"""The greedy search that brings grids into band one step at a time, each one that lowers the
violation, and ``finish_division``, which runs it on a fresh division that fell short.

The greedy search (``GreedySearch.greedy``) on the atom graph, the worst grid first:

1. *Single moves* (``geo.hops``): an atom on the boundary of a violating grid moves to an
   adjacent grid, or an atom of an adjacent grid moves into an under-full grid. The move must
   lower the total violation (Σ households above the ceiling + Σ shortfall below the floor),
   keep the losing grid connected, and is chosen by violation removed per household moved.
2. *Chains*: the cheapest chain of moves between adjacent grids (``MoveSearch.shortest_chain``);
   an atom moving into a full neighbour while that neighbour passes another atom on to a third
   grid with room; households pushed along the shortest path of grids to the nearest grid with
   room (or pulled from the nearest grid with a surplus), one boundary atom per hop, kept only
   if the total violation drops (``geo.hops``).
3. *Structure* (``geo.redraw``): a grid that still exceeds the ceiling is split into one more
   grid (alone or with neighbours, ``geo.partition``); a grid that is still under the floor is
   dissolved into its neighbours.

A fresh division (``DIVIDING``) and a re-balancing (``REBALANCING``, a late step of
``geo.repair.rebalance_labels``) differ only in when two-grid chains come and which split is
kept (``Greedy``). Violations may remain: the search stops when no step helps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.graph import AtomGraph
from geo.hops import Hops
from geo.labelling import Links
from geo.redraw import Redrawing

MAX_ROUNDS = 400


@dataclass(frozen=True)
class Greedy:
    """Where the greedy search (``GreedySearch.greedy``) differs between the two algorithms.

    Attributes
    ----------
    early_chains
        Try a two-grid chain of an over-full grid before a push (a fresh division: it divides
        more communities); otherwise only when nothing else helps (a two-grid chain often moves
        whole compounds).
    cheapest_split
        Split an over-full grid (alone or with neighbours) in every way tried and keep the
        split moving the fewest households; otherwise take the first split found.
    """

    early_chains: bool
    cheapest_split: bool


DIVIDING = Greedy(early_chains=True, cheapest_split=False)
REBALANCING = Greedy(early_chains=False, cheapest_split=True)


class GreedySearch(Hops, Redrawing):
    """The greedy search on a ``MoveSearch``; ``rng`` draws the grids a split makes."""

    def __init__(
        self,
        graph: AtomGraph,
        households: np.ndarray,
        labels: np.ndarray,
        band: tuple[int, int],
        rng: np.random.Generator,
        links: Links | None = None,
        cost: np.ndarray | None = None,
    ) -> None:
        super().__init__(graph, households, labels, band, links, cost)
        self.rng = rng

    def greedy(self, order: Greedy) -> np.ndarray:
        """The greedy search, the worst grid first: the cheapest chain of moves, the best single
        move, a two-grid chain (early in ``order``) or a push; when none helps, a split or a
        dissolve of a grid not tried yet; last (late in ``order``), a two-grid chain."""
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
                early_chain = order.early_chains and self.totals[grid] > self.band[1]
                if (early_chain and self.chain(grid)) or self.push(grid):
                    progressed = True
                    break
            if progressed:
                continue
            untried = next((g for g in bad if g not in stuck), None)
            if untried is not None:
                stuck.add(untried)
                before = self.labels.copy()
                self.restructure(untried, order.cheapest_split)
                if (self.labels != before).any():
                    continue
            chained = not order.early_chains and any(
                self.totals[g] > self.band[1] and self.chain(g) for g in bad
            )
            if not chained and untried is None:
                break
        return self.labels


def finish_division(
    graph: AtomGraph,
    households: np.ndarray,
    labels: np.ndarray,
    band: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """Bring a fresh division into band by the greedy search (``DIVIDING``); violations may
    remain.

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per node.
    labels
        Integer grid label per node; each grid connected.
    band
        (low, high) households per grid.
    rng
        Random generator, used when a grid has to be split.

    Returns
    -------
    numpy.ndarray
        New integer label per node. Check the totals: a violation remains when no move, chain,
        split or merge the search tried could remove it.
    """
    return GreedySearch(graph, households, labels, band, rng).greedy(DIVIDING)
