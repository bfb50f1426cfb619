"""Repair band violations of a grid labelling by moving few households across grid boundaries.

Two algorithms share one set of parts::

    Labelling          geo.labelling   labels, totals, hashes; move/undo; one-piece tests
        ^  (subclass)
    MoveSearch         geo.moves       cheapest sequences of moves: fix (best-first, A*),
        ^                              shortest_chain (Dijkstra over adjacent grids)
    Repair             this module     single, chain, push, one_piece, restructure, redraw,
        |                              found, dissolve, split, revert,
        |                              and greedy(order): the loop over them
        |
        +-- finish_division(...)   geo.divide: a fresh division that fell short
        |       greedy(DIVIDING)                 two-grid chains early, first split found
        |
        +-- rebalance_labels(...)  geo.rebalance: a plan people live with, on a Rebalancing
                                                 (a chain's hop may take what hangs on an atom;
                                                 moves cost households with a grid worker)
                one_piece per grid               grids in several pieces joined or split
                fix(grids) when two or three are out of band, then per grid, worst first;
                  a small under-full grid dissolved first, an over-full one no move fixes
                  opens a new grid from its edge (found), else is split with neighbours
                greedy(REBALANCING)              two-grid chains last, cheapest split
                redraw(grid) per grid still out of band
                revert                           needless moves moved back

``geo.optimum`` solves the re-balancing exactly (CP-SAT), the yardstick for ``rebalance_labels``.

The greedy search (``Repair.greedy``) on the atom graph:

1. *Single moves*: an atom on the boundary of a violating grid moves to an adjacent grid, or an
   atom of an adjacent grid moves into an under-full grid. The move must lower the total
   violation (Σ households above the ceiling + Σ shortfall below the floor), keep the losing
   grid connected, and is chosen by violation removed per household moved.
2. *Chains*: the cheapest chain of moves between adjacent grids (``MoveSearch.shortest_chain``);
   an atom moving into a full neighbour while that neighbour passes another atom on to a third
   grid with room; households pushed along the shortest path of grids to the nearest grid with
   room (or pulled from the nearest grid with a surplus), one boundary atom per hop, kept only
   if the total violation drops.
3. *Structure*: a grid that still exceeds the ceiling is split into one more grid (alone or
   with neighbours, ``geo.partition``); a grid that is still under the floor is dissolved into
   its neighbours.

A re-balancing keeps every grid in one piece down to the cells of its atoms (``Links``), and a
grid even the greedy search leaves out of band is redrawn together with the grids around it.
Grids are identified by integer labels; a split creates the next unused label. Atoms labelled -1
take no part (other connected parts of the community).
"""

from __future__ import annotations

import copy

import numpy as np

from geo.found import Founding
from geo.graph import AtomGraph
from geo.greedy import MAX_ROUNDS, REBALANCING, GreedySearch
from geo.labelling import Links, violation
from geo.moves import atom_bound
from geo.pieces import Joining
from geo.revert import Reverting
from geo.spread import Spreading

#: Most grids out of band that a re-balancing first tries to fix together (``MoveSearch.fix``).
JOINT = 3
#: A re-balancing moving at most this multiple of the whole-atom bound is not searched further.
NEAR_BOUND = 1.1


class Repair(GreedySearch, Spreading, Founding, Joining, Reverting):
    """Every step of a repair on one labelling (see the module docstring)."""


class Rebalancing(Repair):
    """The repair of a plan people live with: a chain's hop may move an atom with the atoms
    that hang on it (``MoveSearch.hanging``). 001005 in growth year 1: a grid of 497 that could
    give a building of 130 only with the small ones behind it; without, the fix went round
    through four grids (914 households moved, now 572)."""

    hanging = True


def rebalance_labels(
    graph: AtomGraph,
    households: np.ndarray,
    labels: np.ndarray,
    band: tuple[int, int],
    rng: np.random.Generator,
    links: Links | None = None,
    cost: np.ndarray | None = None,
) -> np.ndarray:
    """Bring a plan people live with into band moving as few households as the search finds:
    grids in several pieces are joined or split; the best-first search (``MoveSearch.fix``)
    fixes the grids out of band one at a time, the worst first; where it finds no moves an
    over-full grid opens a new grid from its edge (``Repair.found``), else is split with its
    neighbours (``Repair.split``); the greedy search (``REBALANCING``) takes what they leave; a
    grid still out of band is redrawn with the grids around it; last, needless moves are moved
    back (``Repair.revert``). A split early can make the grids after it dearer to fix than the
    greedy search would, so when one was made the repair also runs without splits (unless the
    plan is in band within ``NEAR_BOUND`` of ``geo.moves.atom_bound``), and the plan with fewer
    households out of band, then fewer moved, is kept. Violations may remain.

    Parameters are those of ``geo.greedy.finish_division``, and ``links``: the fragments of the
    nodes (``geo.labelling.Links``), so that a grid counts as one piece only when its cells
    are; None: the graph's nodes; and ``cost``: the households per node whose grid worker a
    move changes (those of new entrances have none yet); None: ``households``.
    """
    spare = copy.deepcopy(rng)
    search, split = _repair(Rebalancing(graph, households, labels, band, rng, links, cost), True)
    out, moved = _cost(search)
    if not split or (out == 0 and moved <= NEAR_BOUND * atom_bound(households, labels, band)):
        return search.labels
    other, _ = _repair(Rebalancing(graph, households, labels, band, spare, links, cost), False)
    return min(search, other, key=_cost).labels


def _repair(search: Repair, splits: bool) -> tuple[Repair, bool]:
    """The steps of ``rebalance_labels`` on ``search``, with or without ``Repair.split``, and
    whether a grid was split."""
    for grid in sorted(search.members):
        search.one_piece(grid)
    split = False
    for _ in range(MAX_ROUNDS):
        bad = search.bad()
        if not bad:
            break
        if not (1 < len(bad) <= JOINT and search.fix(bad)) and not any(
            search.fix_or_dissolve(g) or search.found(g) for g in bad
        ):
            if not (splits and any(search.split(g) for g in bad)):
                break
            split = True
    search.greedy(REBALANCING)
    for grid in search.bad():
        if violation(search.totals.get(grid, 0.0), search.band) > 0:
            search.redraw(grid)
    search.revert()
    return search, split


def _cost(search: Repair) -> tuple[float, float]:
    """Households out of band, then households moved."""
    out = sum(violation(t, search.band) for t in search.totals.values())
    return out, float(search.cost[search.labels != search.origin].sum())
