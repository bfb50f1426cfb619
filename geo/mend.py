"""Mend a large region's grids out of band by drawing each afresh with the grids around it.

A large region is divided chunk by chunk (``geo.search``); a chunk whose search fails gets a
quick plan of least violation, and its grids out of band usually sit next to grids in band
with room to spare or to give. ``mend`` takes each grid out of band with its neighbouring grids
(one ring, then two, ...), draws that group afresh (``geo.partition``; small groups exhaustively,
``geo.exhaustive``) for the grid counts nearest the group's own, and keeps the new drawing only
when every one of its grids is in band. The groups stay small, so the cost grows with the number
of grids out of band, not with the region.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from geo.graph import AtomGraph
from geo.labelling import in_band
from geo.partition import feasible_counts

#: Rings of neighbouring grids drawn afresh at most around a grid out of band.
RINGS = 2
#: Most grids of a group drawn afresh.
MAX_GROUP = 12

#: ``draw(nodes, counts)``: connected parts of ``nodes`` in band, as many as one of ``counts``,
#: or None.
Draw = Callable[[np.ndarray, list[int]], "list[np.ndarray] | None"]


def mend(
    graph: AtomGraph,
    households: np.ndarray,
    labels: np.ndarray,
    band: tuple[int, int],
    draw: Draw,
    fixed: frozenset[int] = frozenset(),
    deadline: float | None = None,
) -> np.ndarray:
    """Labels where each grid out of band has been drawn again with its neighbours, wherever
    such a drawing puts every grid of the group in band.

    Parameters are those of ``geo.greedy.finish_division`` (``labels``: -1 for a node in no
    grid), and:

    draw
        The search drawing a group afresh (``geo.search.Planner.draw``).
    fixed
        Labels of grids never redrawn (an atom over the ceiling alone).
    deadline
        ``time.monotonic()`` after which no further group is tried; None: no limit.

    Returns
    -------
    numpy.ndarray
        New labels (new grids get labels above the old ones); grids out of band remain where no
        group around them could be drawn in band.
    """
    labels = np.asarray(labels).copy()
    grids = _Grids(graph, households, labels)
    for grid in grids.out_of_band(band, fixed):
        if deadline is not None and time.monotonic() > deadline:
            break
        if grid in grids.members and not in_band(grids.total(grid), band):
            _redraw(grids, grid, band, draw, fixed)
    return grids.labels


class _Grids:
    """Members and neighbours of the grids of a labelling under change."""

    def __init__(self, graph: AtomGraph, households: np.ndarray, labels: np.ndarray):
        self.graph, self.households, self.labels = graph, np.asarray(households), labels
        order = np.argsort(labels, kind="stable")
        keys, starts = np.unique(labels[order], return_index=True)
        ends = [*starts[1:], len(order)]
        self.members = {
            int(k): order[s:e] for k, s, e in zip(keys, starts, ends, strict=True) if k >= 0
        }
        near: list[list[int]] = [[] for _ in range(graph.n)]
        for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
            near[a].append(b)
            near[b].append(a)
        self.near = near
        self.next = int(labels.max()) + 1

    def total(self, grid: int) -> float:
        return float(self.households[self.members[grid]].sum())

    def out_of_band(self, band: tuple[int, int], fixed: frozenset[int]) -> list[int]:
        """Grids out of band (not ``fixed``), the worst first."""
        low, high = band
        bad = [
            (max(t - high, low - t), g)
            for g in self.members
            if g not in fixed and not in_band(t := self.total(g), band)
        ]
        return [g for _, g in sorted(bad, key=lambda item: (-item[0], item[1]))]

    def neighbours(self, grid: int) -> set[int]:
        labels = self.labels
        return {int(labels[n]) for node in self.members[grid].tolist() for n in self.near[node]} - {
            grid,
            -1,
        }

    def adopt(self, group: list[int], parts: list[np.ndarray]) -> None:
        """Replace the grids ``group`` by ``parts``, under new labels (a free face no part
        took, cut off from the atoms, goes to a neighbouring grid with the polygons)."""
        for g in group:
            self.labels[self.members.pop(g)] = -1
        for part in parts:
            self.labels[part] = self.next
            self.members[self.next] = np.sort(part)
            self.next += 1


def _redraw(
    grids: _Grids, grid: int, band: tuple[int, int], draw: Draw, fixed: frozenset[int]
) -> bool:
    """Draw ``grid`` and one ring of neighbours more each time afresh (of a wider ring, the
    grids touching most of the group, up to ``MAX_GROUP`` grids), until every grid of the group
    is in band; whether that happened."""
    region = {grid}
    for _ in range(RINGS):
        touching: dict[int, int] = {}
        for g in region:
            for n in grids.neighbours(g) - region - fixed:
                touching[n] = touching.get(n, 0) + 1
        if not touching:
            return False
        closest = sorted(touching, key=lambda n: (-touching[n], n))
        region = region | set(closest[: max(MAX_GROUP - len(region), 0)])
        group = sorted(region)
        nodes = np.concatenate([grids.members[g] for g in group])
        total = grids.households[nodes].sum()
        counts = [k for k in feasible_counts(total, band) if abs(k - len(group)) <= 1]
        parts = draw(nodes, counts) if counts else None
        if parts is not None:
            grids.adopt(group, parts)
            return True
    return False
