"""Multilevel k-way partition of the atom graph (METIS), for regions too big to bisect by search.

METIS (``pymetis``) coarsens the graph by heavy-edge matching, partitions the coarsest graph and
refines the parts on the way back up, in time near-linear in the graph's size. Vertex weights are
households (free faces weigh nothing), edge weights the cut costs of ``geo.graph`` (rounded up to
whole units), so parts are balanced in households and their borders prefer roads to blocks and
blocks to compounds. METIS is asked for contiguous parts; where it cannot give them (a part with
several pieces) every piece but the heaviest joins the neighbouring part it shares most cut cost
with, so the parts returned are always connected.

``geo.divide`` uses it twice: to cut a large region into chunks of a few grids each, which the
exact-band search then divides, and as the quick plan of least violation (one part per grid, then
``geo.greedy``) that a chunk falls back on when its search finds nothing in time.
"""

from __future__ import annotations

import numpy as np
import pymetis
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from geo.graph import AtomGraph

#: METIS load imbalance allowed, in thousandths (30: each part within 3 % of its share).
UFACTOR = 30


def metis_labels(
    graph: AtomGraph, households: np.ndarray, nodes: np.ndarray, k: int, seed: int = 0
) -> np.ndarray:
    """A connected part label 0..k-1 for each of ``nodes`` (a connected set of the graph).

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per node (0 for free faces).
    nodes
        Node indices to partition.
    k
        Number of parts wanted; fewer come back when ``nodes`` is too small for ``k``.
    seed
        METIS's random seed.

    Returns
    -------
    numpy.ndarray
        Label of each node of ``nodes``, in the same order; every label's nodes are connected.
    """
    nodes = np.asarray(nodes)
    if k <= 1 or len(nodes) <= 1:
        return np.zeros(len(nodes), dtype=int)
    u, v, cost = _local_edges(graph, nodes)
    if len(u) == 0:
        return np.zeros(len(nodes), dtype=int)
    xadj, adjncy, eweights = _csr(len(nodes), u, v, cost)
    options = pymetis.Options(ufactor=UFACTOR, seed=seed, contig=1)
    weight = np.rint(np.asarray(households)[nodes]).astype(int)
    _, parts = pymetis.part_graph(
        min(k, len(nodes)),
        adjacency=pymetis.CSRAdjacency(xadj, adjncy),
        vweights=weight.tolist(),
        eweights=eweights,
        options=options,
    )
    labels = np.asarray(parts, dtype=int)
    return _connected_labels(len(nodes), u, v, cost, weight, labels)


def _local_edges(graph: AtomGraph, nodes: np.ndarray):
    """Edges of the subgraph induced by ``nodes``, in local indices, with their cut costs."""
    local = np.full(graph.n, -1)
    local[nodes] = np.arange(len(nodes))
    keep = (local[graph.u] >= 0) & (local[graph.v] >= 0)
    return local[graph.u[keep]], local[graph.v[keep]], graph.cost[keep]


def _csr(n: int, u: np.ndarray, v: np.ndarray, cost: np.ndarray):
    """METIS's compressed adjacency (both directions) with integer edge weights ≥ 1."""
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    weight = np.concatenate([cost, cost])
    order = np.lexsort((cols, rows))
    xadj = np.zeros(n + 1, dtype=int)
    np.add.at(xadj, rows + 1, 1)
    return (
        np.cumsum(xadj).tolist(),
        cols[order].tolist(),
        np.maximum(np.ceil(weight[order]), 1).astype(int).tolist(),
    )


def _connected_labels(n, u, v, cost, weight, labels: np.ndarray) -> np.ndarray:
    """Labels 0..m-1 where every piece of a part but its heaviest has joined the neighbouring
    part it shares most cut cost with, until every part is one piece."""
    labels = labels.copy()
    for _ in range(n):
        same = labels[u] == labels[v]
        matrix = coo_array((np.ones(same.sum()), (u[same], v[same])), shape=(n, n))
        piece = connected_components(matrix, directed=False)[1]
        heft = np.bincount(piece, weights=weight + 1e-6)
        part_of = np.zeros(len(heft), dtype=int)
        part_of[piece] = labels
        order = np.lexsort((-heft, part_of))
        first = np.ones(len(order), dtype=bool)
        first[1:] = part_of[order[1:]] != part_of[order[:-1]]
        stray = np.zeros(len(heft), dtype=bool)
        stray[order[~first]] = True
        if not stray.any():
            break
        border = (piece[u] != piece[v]) & (stray[piece[u]] | stray[piece[v]])
        shared: dict[tuple[int, int], float] = {}
        for a, b, c in zip(piece[u[border]], piece[v[border]], cost[border], strict=True):
            for mine, theirs in ((a, b), (b, a)):
                if stray[mine] and part_of[theirs] != part_of[mine]:
                    key = (int(mine), int(part_of[theirs]))
                    shared[key] = shared.get(key, 0.0) + float(c)
        target = {}
        for (mine, part), c in shared.items():
            if c > target.get(mine, (-1.0, 0))[0]:
                target[mine] = (c, part)
        if not target:
            break
        new_part = part_of.copy()
        for mine, (_, part) in target.items():
            new_part[mine] = part
        labels = new_part[piece]
    return np.unique(labels, return_inverse=True)[1]
