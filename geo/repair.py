"""Repair band violations of a grid labelling by moving few households across grid boundaries:
``rebalance_labels`` re-balances a plan people live with, by the steps that ``Repair`` gathers
from the modules below.

The parts, each a class of the steps of one module on a labelling::

    class         module         base             steps
    Labelling     geo.labelling                   labels, totals, hashes; move/undo/restore;
                                                  one-piece tests
    MoveSearch    geo.moves      Labelling        fix (best-first, A*), shortest_chain
                                                  (Dijkstra over adjacent grids)
    Hops          geo.hops       MoveSearch       single, chain, push
    Redrawing     geo.redraw     MoveSearch       restructure (split or dissolve), split, redraw
    GreedySearch  geo.greedy     Hops, Redrawing  greedy(order): the loop over them
    Spreading     geo.spread     MoveSearch       fix_or_dissolve: fix, spread or dissolve
    Founding      geo.found      MoveSearch       found: a new grid from an over-full grid's edge
    Joining       geo.pieces     Labelling        one_piece
    Reverting     geo.revert     Labelling        revert
    Repair        this module    all of the five above

The two algorithms built from them::

    finish_division(...)   geo.greedy, for geo.search: a fresh division that fell short
        greedy(DIVIDING) on a GreedySearch      two-grid chains early, first split found

    rebalance_labels(...)  this module, for geo.rebalance: a plan people live with, on a
                           Rebalancing (a Repair whose chain hops may take what hangs on an
                           atom; moves cost households with a grid worker)
        one_piece per grid               grids in several pieces joined or split
        fix(grids) when two or three are out of band, then per grid, worst first;
          a small under-full grid dissolved first, an over-full one no move fixes
          opens a new grid from its edge (found), else is split with neighbours
        greedy(REBALANCING)              two-grid chains last, cheapest split
        redraw(grid) per grid still out of band
        revert                           needless moves moved back

``geo.optimum`` solves the re-balancing exactly (CP-SAT), the yardstick for ``rebalance_labels``.

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
    over-full grid opens a new grid from its edge (``Founding.found``), else is split with its
    neighbours (``Redrawing.split``); the greedy search (``REBALANCING``) takes what they leave; a
    grid still out of band is redrawn with the grids around it; last, needless moves are moved
    back (``Reverting.revert``). A split early can make the grids after it dearer to fix than the
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
    """The steps of ``rebalance_labels`` on ``search``, with or without ``Redrawing.split``, and
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
