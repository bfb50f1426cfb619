"""Exhaustive search for a partition into grids in the band: a division, or proof there is none.

The randomised search of ``geo.partition`` can miss the few divisions a lumpy community allows,
and when it finds none it cannot tell "none exists" from "none found". On a small part of a
community this search settles it: it takes the most constrained atom left (fewest neighbours
left, then heaviest), enumerates every connected set of the remaining nodes that holds it and
fits the band (each set once, by the standard exclusion rule for connected subgraphs), and
recurses on the rest, pruning as soon as a leftover connected part cannot hold a whole number of
grids. Grids come out as the first division found, not the most compact one; the search stops
after ``budget`` sets, or at its deadline, and then says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from geo.graph import AtomGraph
from geo.partition import adjacency, feasible_counts

#: Connected sets the search may enumerate before it gives up undecided.
STEP_BUDGET = 200_000
#: Largest part (atoms and free faces) the search is tried on.
MAX_NODES = 120
#: Connected sets ``homeless`` enumerates around one atom before it gives up.
HOMELESS_BUDGET = 5_000
#: Steps between two looks at the clock.
CLOCK_EVERY = 1024


class Undecided(Exception):
    """The step budget ran out before the search found a division or proved there is none."""


def exhaustive_partition(
    graph: AtomGraph,
    households: np.ndarray,
    nodes: np.ndarray,
    band: tuple[int, int],
    budget: int = STEP_BUDGET,
    deadline: float | None = None,
) -> list[np.ndarray] | None:
    """Connected parts of ``nodes`` each in ``band``, or None when no such partition exists.

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per node (0 for free faces).
    nodes
        Node indices of one connected part of the graph.
    band
        (low, high) households per grid.
    budget
        Connected sets to enumerate at most.
    deadline
        ``time.monotonic()`` after which the search gives up undecided; None: no limit.

    Raises
    ------
    Undecided
        When the budget or the time runs out first.
    """
    near = [set(n) for n in adjacency(graph.n, graph.u, graph.v)]
    weight = np.asarray(households, dtype=float).tolist()
    nodes = np.asarray(nodes)
    atoms = frozenset(n for n in nodes.tolist() if weight[n] > 0)
    # atoms linked through free faces: a division of the atoms alone is a necessary condition
    # (and a small search), so its absence proves there is none
    if (
        _Search(_through_free(near, weight, nodes), weight, band, budget, deadline).solve(atoms)
        is None
    ):
        return None
    search = _Search(near, weight, band, budget, deadline)
    parts = search.solve(frozenset(nodes.tolist()))
    if parts is None:
        return None
    return _attach_free(near, [np.array(sorted(p)) for p in parts], nodes)


class _Search:
    def __init__(self, near: list[set[int]], weight: list[float], band, budget: int, deadline):
        self.near, self.weight, self.band, self.steps = near, weight, band, budget
        self.deadline = np.inf if deadline is None else deadline

    def solve(self, left: frozenset[int]) -> list[frozenset[int]] | None:
        """A partition of the atoms in ``left`` (free faces may stay out), or None."""
        atoms = [n for n in left if self.weight[n] > 0]
        if not atoms:
            return []
        for part in _parts(self.near, left):
            total = sum(self.weight[n] for n in part)
            if total > 0 and not feasible_counts(total, self.band):
                return None
        start = min(atoms, key=lambda n: (len(self.near[n] & left), -self.weight[n], n))
        for grid in self._grids(start, left):
            rest = self.solve(left - grid)
            if rest is not None:
                return [grid, *rest]
        return None

    def _grids(self, start: int, left: frozenset[int]) -> Iterator[frozenset[int]]:
        """Every connected set of ``left`` holding ``start`` and fitting the band, once each."""
        low, high = self.band

        def grow(grid, total, frontier, excluded):
            self.steps -= 1
            if self.steps < 0 or (
                self.steps % CLOCK_EVERY == 0 and time.monotonic() > self.deadline
            ):
                raise Undecided
            if total >= low:
                yield grid
            for node in sorted(frontier):
                excluded = excluded | {node}
                if total + self.weight[node] <= high:
                    wider = (frontier | (self.near[node] & left)) - grid - excluded
                    yield from grow(grid | {node}, total + self.weight[node], wider, excluded)

        yield from grow(
            frozenset([start]), self.weight[start], self.near[start] & left, frozenset([start])
        )


def _through_free(near: list[set[int]], weight: list[float], nodes: np.ndarray) -> list[set[int]]:
    """Adjacency of the atoms of ``nodes`` where atoms are also linked when a path through free
    faces (no households) of ``nodes`` joins them: every grid's atoms are connected in it."""
    linked = [set() for _ in near]
    inside = frozenset(nodes.tolist())
    free = frozenset(n for n in inside if weight[n] == 0)
    for group in _parts(near, free):
        around = {a for f in group for a in near[f] & inside if weight[a] > 0}
        for a in around:
            linked[a] |= around - {a}
    for a in inside - free:
        linked[a] |= {b for b in near[a] & inside if weight[b] > 0}
    return linked


def _parts(near: list[set[int]], nodes: frozenset[int]) -> Iterator[set[int]]:
    """Connected parts of ``nodes``."""
    seen: set[int] = set()
    for first in sorted(nodes):
        if first in seen:
            continue
        part, stack = {first}, [first]
        while stack:
            for n in near[stack.pop()] & nodes:
                if n not in part:
                    part.add(n)
                    stack.append(n)
        seen |= part
        yield part


def _attach_free(near, parts: list[np.ndarray], nodes: np.ndarray) -> list[np.ndarray]:
    """Parts extended by the free faces no part took, each to a part it touches."""
    label = {n: k for k, part in enumerate(parts) for n in part.tolist()}
    inside = set(nodes.tolist())
    queue = list(label)
    for node in queue:
        for n in sorted(near[node] & inside):
            if n not in label:
                label[n] = label[node]
                queue.append(n)
    grouped: list[list[int]] = [[] for _ in parts]
    for n, k in label.items():
        grouped[k].append(n)
    return [np.array(sorted(g)) for g in grouped]


def homeless(
    graph: AtomGraph,
    households: np.ndarray,
    atoms: np.ndarray,
    band: tuple[int, int],
    budget: int = HOMELESS_BUDGET,
) -> int | None:
    """The first of ``atoms`` that no connected set of the graph in ``band`` can hold, or None.

    Such an atom is a proof that every plan has a grid out of band: say three buildings of a
    compound over the ceiling in a row, the end one reached only through the middle one, the two
    of them under the floor and the three over the ceiling. An atom over the ceiling is one; for
    the others every connected set around them fitting the band is enumerated (atoms linked
    through free faces, which only adds sets), and an atom whose enumeration the ``budget`` cuts
    short counts as housed.
    """
    high = band[1]
    near = [set(n) for n in adjacency(graph.n, graph.u, graph.v)]
    weight = np.asarray(households, dtype=float).tolist()
    linked = _through_free(near, weight, np.arange(graph.n))
    everything = frozenset(n for n in range(graph.n) if weight[n] > 0)
    for atom in np.asarray(atoms).tolist():
        if weight[atom] > high:
            return atom
        if weight[atom] <= 0:
            continue
        sets = _Search(linked, weight, band, budget, None)._grids(atom, everything)
        try:
            if next(sets, None) is None:
                return atom
        except Undecided:
            continue
    return None
