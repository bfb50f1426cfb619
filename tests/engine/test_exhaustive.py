"""exhaustive_partition(): finds the divisions lumpy atoms allow, or proves there are none."""

import numpy as np
import pytest

from geo.exhaustive import Undecided, exhaustive_partition
from geo.graph import AtomGraph

BAND = (300, 500)


def path_graph(households: list[float], free: int = 0) -> tuple[AtomGraph, np.ndarray]:
    """Atoms in a row, then ``free`` free faces hanging between the first two atoms."""
    n = len(households) + free
    edges = [(i, i + 1) for i in range(len(households) - 1)]
    edges += [(0, len(households) + k) for k in range(free)]
    edges += [(1, len(households) + k) for k in range(free)]
    u, v = (np.array(side) for side in zip(*edges, strict=True))
    graph = AtomGraph(
        u,
        v,
        np.ones(len(u)),
        np.ones(len(u)),
        np.column_stack([np.arange(n), np.zeros(n)]).astype(float),
        frozenset(),
        len(households),
        np.arange(free),
    )
    return graph, np.concatenate([households, np.zeros(free)])


def test_finds_the_only_division_of_lumpy_atoms():
    # 293 can only pair with 89 (293 + 419 > 500), 419 must stand alone (+120 > 500), and the
    # rest is one grid: the only division, with the free faces joined to the first grid
    graph, households = path_graph([293, 89, 419, 120, 250, 100], free=2)
    parts = exhaustive_partition(graph, households, np.arange(graph.n), BAND)
    assert parts is not None
    assert sorted(np.concatenate(parts).tolist()) == list(range(graph.n))
    assert sorted(households[p].sum() for p in parts) == [382, 419, 470]
    assert {6, 7} <= set(next(p for p in parts if 0 in p).tolist())


def test_proves_that_no_division_exists():
    # 600 households could be two grids, but no cut of 200-200-200 gives two of 300-500
    graph, households = path_graph([200, 200, 200])
    assert exhaustive_partition(graph, households, np.arange(graph.n), BAND) is None


def test_gives_up_undecided_when_the_budget_runs_out():
    graph, households = path_graph([60.0] * 40)
    with pytest.raises(Undecided):
        exhaustive_partition(graph, households, np.arange(graph.n), BAND, budget=10)
