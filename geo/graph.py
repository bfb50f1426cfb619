"""Adjacency of atoms, weighted by what a grid boundary between them would cut.

The nodes of the graph are the atoms (``geo.atoms``) and the *free faces* of the cell complex
(``geo.cells``: blocks without buildings, and river faces that a bridge crosses), which hold no
households. Two nodes are adjacent when their faces share an edge, never along a river edge
except between a bridge face and the cells within ``geo.cells.BRIDGE_REACH_M`` of the bridge.
A grid connected in this graph is therefore one polygon: its atoms' cells and the free faces it
holds. The *cut cost* of an edge is the length of boundary a grid border there would draw,
weighted by where it runs:

* along a road (the two cells lie in different blocks) or next to a free face: ``ROAD_COST``;
* inside a block: ``BLOCK_COST``;
* inside a compound split because it exceeds the ceiling: ``COMPOUND_COST``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from geo.atoms import Atoms
from geo.cells import BRIDGE_REACH_M, Cells

ROAD_COST = 1.0
BLOCK_COST = 4.0
COMPOUND_COST = 12.0


@dataclass(frozen=True)
class AtomGraph:
    """Undirected graph of atoms and free faces, as edge arrays.

    Attributes
    ----------
    u, v
        Node indices of each edge (u < v): atoms 0..atoms-1, then free faces.
    cost
        Cut cost of each edge (weighted metres of boundary between the two nodes).
    length
        Mean distance between the linked pieces or faces, metres.
    xy
        Node centres, an (n, 2) array.
    river_cut
        Atom pairs that face each other across a river without a bridge (for messages).
    atoms
        Number of atoms; nodes from ``atoms`` on are free faces.
    faces
        Face index (in ``Cells.faces``) of each free-face node.
    """

    u: np.ndarray
    v: np.ndarray
    cost: np.ndarray
    length: np.ndarray
    xy: np.ndarray
    river_cut: frozenset[tuple[int, int]]
    atoms: int
    faces: np.ndarray

    @property
    def n(self) -> int:
        """Number of nodes (atoms and free faces)."""
        return len(self.xy)

    def weights(self, households: np.ndarray) -> np.ndarray:
        """Households per node: the atoms' ``households``, then zeros for the free faces."""
        return np.concatenate([np.asarray(households, dtype=float), np.zeros(len(self.faces))])


def _around(cells: Cells, faces: np.ndarray) -> pd.DataFrame:
    """(face, piece) for the cells touching each of ``faces``."""
    face = np.concatenate([cells.a, cells.b])
    other = np.concatenate([cells.b, cells.a])
    keep = np.isin(face, faces) & (cells.piece[other] >= 0)
    return pd.DataFrame({"face": face[keep], "piece": cells.piece[other[keep]]})


def _river_pairs(cells: Cells) -> pd.DataFrame:
    """Piece pairs facing each other across a river: on a river edge or around a river face."""
    direct = (cells.piece[cells.a] >= 0) & (cells.piece[cells.b] >= 0) & cells.on_river
    p, q = cells.piece[cells.a[direct]], cells.piece[cells.b[direct]]
    around = _around(cells, np.flatnonzero(cells.river))
    pairs = around.merge(around, on="face")
    return pd.DataFrame(
        {
            "p": np.concatenate([p, pairs["piece_x"].to_numpy()]),
            "q": np.concatenate([q, pairs["piece_y"].to_numpy()]),
        }
    )


def _near_bridge(cells: Cells, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For face pairs along a river edge: one is a bridge face, the other within reach of it."""
    out = np.zeros(len(a), dtype=bool)
    for face, span in cells.bridge_faces.items():
        for this, other in ((a, b), (b, a)):
            at = np.flatnonzero(this == face)
            out[at] |= shapely.dwithin(cells.faces[other[at]], span, BRIDGE_REACH_M)
    return out


def atom_graph(atoms: Atoms, cells: Cells) -> AtomGraph:
    """The weighted adjacency graph of the atoms and free faces.

    Parameters
    ----------
    atoms
        Atoms and pieces (``geo.atoms.build_atoms``).
    cells
        Cell complex of the pieces (``geo.cells.cell_complex``), same row order as
        ``atoms.pieces``.

    Returns
    -------
    AtomGraph
    """
    pieces = atoms.pieces
    atom = pieces["atom"].to_numpy()
    compound = pd.factorize(pieces["compound_id"])[0]
    count = len(atoms.table)
    free = np.flatnonzero((cells.piece < 0) & ~cells.river)
    free = np.union1d(free, np.array(sorted(cells.bridge_faces), dtype=int))
    node = np.full(len(cells.faces), -1)
    owned = cells.piece >= 0
    node[owned] = atom[cells.piece[owned]]
    node[free] = count + np.arange(len(free))
    xy = np.concatenate(
        [
            atoms.table[["x", "y"]].to_numpy(),
            shapely.get_coordinates(shapely.point_on_surface(cells.faces[free])).reshape(-1, 2),
        ]
    )
    a, b = cells.a, cells.b
    keep = (node[a] >= 0) & (node[b] >= 0) & (node[a] != node[b])
    keep &= ~cells.on_river | _near_bridge(cells, a, b)
    a, b, shared = a[keep], b[keep], cells.shared[keep]
    both_cells = (cells.piece[a] >= 0) & (cells.piece[b] >= 0)
    pa, pb = cells.piece[a], cells.piece[b]
    same_compound = both_cells & (compound[pa] >= 0) & (compound[pa] == compound[pb])
    same_block = both_cells & (cells.block[a] == cells.block[b])
    factor = np.where(same_compound, COMPOUND_COST, np.where(same_block, BLOCK_COST, ROAD_COST))
    u, v = np.minimum(node[a], node[b]), np.maximum(node[a], node[b])
    pairs = pd.DataFrame(
        {"u": u, "v": v, "cost": factor * shared, "length": np.hypot(*(xy[u] - xy[v]).T)}
    )
    merged = pairs.groupby(["u", "v"], sort=True).agg(
        cost=("cost", "sum"), length=("length", "mean")
    )
    u = merged.index.get_level_values("u").to_numpy()
    v = merged.index.get_level_values("v").to_numpy()
    river = _river_pairs(cells)
    ra, rb = atom[river["p"].to_numpy()], atom[river["q"].to_numpy()]
    cut = set(zip(np.minimum(ra, rb).tolist(), np.maximum(ra, rb).tolist(), strict=True))
    linked = set(zip(u.tolist(), v.tolist(), strict=True))
    return AtomGraph(
        u,
        v,
        merged["cost"].to_numpy(),
        merged["length"].to_numpy(),
        xy,
        frozenset({(x, y) for x, y in cut if x != y} - linked),
        count,
        free,
    )


def components(graph: AtomGraph, drop: np.ndarray | None = None) -> list[np.ndarray]:
    """Node indices of each connected part of the graph holding atoms, largest first; nodes
    under the mask ``drop`` are left out (and do not link their neighbours)."""
    keep = np.ones(graph.n, dtype=bool) if drop is None else ~drop
    edge = keep[graph.u] & keep[graph.v]
    matrix = coo_array(
        (np.ones(edge.sum()), (graph.u[edge], graph.v[edge])), shape=(graph.n, graph.n)
    )
    count, label = connected_components(matrix, directed=False)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(count + 1))
    parts = [order[bounds[c] : bounds[c + 1]] for c in range(count)]
    parts = [p for p in parts if p[0] < graph.atoms and keep[p[0]]]
    return sorted(parts, key=lambda p: (-len(p), p[0]))


def connected(graph: AtomGraph, nodes: np.ndarray) -> bool:
    """Whether the atoms ``nodes`` form one connected part of the graph."""
    inside = np.zeros(graph.n, dtype=bool)
    inside[nodes] = True
    keep = inside[graph.u] & inside[graph.v]
    matrix = coo_array((np.ones(keep.sum()), (graph.u[keep], graph.v[keep])), (graph.n, graph.n))
    label = connected_components(matrix, directed=False)[1]
    return len(np.unique(label[nodes])) == 1
