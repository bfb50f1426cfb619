"""Adjacency of atoms, weighted by what a grid boundary between them would cut.

Two pieces (buildings or units, see ``geo.atoms``) are adjacent when their cells (``geo.cells``)
share an edge, or both touch one group of touching free faces (blocks without buildings), or both
touch a river face within ``geo.cells.BRIDGE_REACH_M`` of a bridge; never across a river edge. A
grid connected in this graph therefore gets a polygon in one piece (``geo.polygons`` hands it the
free faces joining its parts). Piece links become atom links whose *cut
cost* is the length of boundary a grid border between them would draw, weighted by where it runs:

* along a road (the two cells lie in different blocks) or through a free face: ``ROAD_COST``;
* inside a block: ``BLOCK_COST``;
* inside a compound split because it exceeds the ceiling: ``COMPOUND_COST``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.atoms import Atoms
from geo.cells import BRIDGE_REACH_M, Cells, free_groups

ROAD_COST = 1.0
BLOCK_COST = 4.0
COMPOUND_COST = 12.0


@dataclass(frozen=True)
class AtomGraph:
    """Undirected atom graph as edge arrays.

    Attributes
    ----------
    u, v
        Atom indices of each edge (u < v).
    cost
        Cut cost of each edge (weighted metres of boundary between the two atoms).
    length
        Mean distance between the linked pieces, metres.
    xy
        Atom centres, an (n, 2) array (n = number of atoms).
    river_cut
        Atom pairs that face each other across a river without a bridge (for messages).
    """

    u: np.ndarray
    v: np.ndarray
    cost: np.ndarray
    length: np.ndarray
    xy: np.ndarray
    river_cut: frozenset

    @property
    def n(self) -> int:
        """Number of atoms."""
        return len(self.xy)


def _around(cells: Cells, faces: np.ndarray, across_rivers: bool) -> pd.DataFrame:
    """(face, piece, shared) for the cells touching each of ``faces`` (also along a river edge
    when ``across_rivers``)."""
    face = np.concatenate([cells.a, cells.b])
    other = np.concatenate([cells.b, cells.a])
    keep = np.isin(face, faces) & (cells.piece[other] >= 0)
    if not across_rivers:
        keep &= ~np.concatenate([cells.on_river, cells.on_river])
    shared = np.concatenate([cells.shared, cells.shared])
    return pd.DataFrame(
        {"face": face[keep], "piece": cells.piece[other[keep]], "shared": shared[keep]}
    )


def _pairs_around(touching: pd.DataFrame) -> pd.DataFrame:
    """Piece pairs touching one face: (p, q, shared = the shorter of their edges)."""
    pairs = touching.merge(touching, on="face")
    pairs = pairs[pairs["piece_x"] < pairs["piece_y"]]
    return pd.DataFrame(
        {
            "p": pairs["piece_x"].to_numpy(),
            "q": pairs["piece_y"].to_numpy(),
            "shared": np.minimum(pairs["shared_x"], pairs["shared_y"]).to_numpy(),
        }
    )


def piece_links(cells: Cells) -> pd.DataFrame:
    """Linked piece pairs: ``p`` < ``q``, ``shared`` metres, ``across`` (not inside a block)."""
    direct = (cells.piece[cells.a] >= 0) & (cells.piece[cells.b] >= 0) & ~cells.on_river
    p, q = cells.piece[cells.a[direct]], cells.piece[cells.b[direct]]
    links = [
        pd.DataFrame(
            {
                "p": np.minimum(p, q),
                "q": np.maximum(p, q),
                "shared": cells.shared[direct],
                "across": cells.block[cells.a[direct]] != cells.block[cells.b[direct]],
            }
        )
    ]
    group = free_groups(cells)
    touching = _around(cells, np.flatnonzero(group >= 0), across_rivers=False)
    touching["face"] = group[touching["face"].to_numpy()]
    links.append(_pairs_around(touching).assign(across=True))
    cell_of = np.full(cells.piece.max() + 1, -1)
    cell_of[cells.piece[cells.piece >= 0]] = np.flatnonzero(cells.piece >= 0)
    for face, span in cells.bridge_faces.items():
        touching = _around(cells, np.array([face]), across_rivers=True)
        cell = cells.faces[cell_of[touching["piece"].to_numpy()]]
        near = shapely.dwithin(cell, span, BRIDGE_REACH_M)
        links.append(_pairs_around(touching[near]).assign(across=True))
    return pd.concat(links, ignore_index=True)


def _river_pairs(cells: Cells) -> pd.DataFrame:
    """Piece pairs facing each other across a river: on a river edge or around a river face."""
    direct = (cells.piece[cells.a] >= 0) & (cells.piece[cells.b] >= 0) & cells.on_river
    p, q = cells.piece[cells.a[direct]], cells.piece[cells.b[direct]]
    across = pd.DataFrame({"p": np.minimum(p, q), "q": np.maximum(p, q)})
    around = _pairs_around(_around(cells, np.flatnonzero(cells.river), across_rivers=True))
    return pd.concat([across, around[["p", "q"]]], ignore_index=True)


def atom_graph(atoms: Atoms, cells: Cells) -> AtomGraph:
    """The weighted adjacency graph of the atoms.

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
    xy = pieces[["x", "y"]].to_numpy()
    atom = pieces["atom"].to_numpy()
    compound = pd.factorize(pieces["compound_id"])[0]
    links = piece_links(cells)
    p, q = links["p"].to_numpy(), links["q"].to_numpy()
    keep = atom[p] != atom[q]
    p, q, links = p[keep], q[keep], links[keep]
    same_compound = (compound[p] >= 0) & (compound[p] == compound[q])
    factor = np.where(
        same_compound, COMPOUND_COST, np.where(links["across"], ROAD_COST, BLOCK_COST)
    )
    pairs = pd.DataFrame(
        {
            "u": np.minimum(atom[p], atom[q]),
            "v": np.maximum(atom[p], atom[q]),
            "cost": factor * links["shared"].to_numpy(),
            "length": np.hypot(*(xy[p] - xy[q]).T),
        }
    )
    merged = pairs.groupby(["u", "v"], sort=True).agg(
        cost=("cost", "sum"), length=("length", "mean")
    )
    u = merged.index.get_level_values("u").to_numpy()
    v = merged.index.get_level_values("v").to_numpy()
    river = _river_pairs(cells)
    a, b = atom[river["p"].to_numpy()], atom[river["q"].to_numpy()]
    cut = set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))
    linked = set(zip(u.tolist(), v.tolist(), strict=True))
    return AtomGraph(
        u,
        v,
        merged["cost"].to_numpy(),
        merged["length"].to_numpy(),
        atoms.table[["x", "y"]].to_numpy(),
        frozenset({(x, y) for x, y in cut if x != y} - linked),
    )
