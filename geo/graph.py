"""Adjacency of atoms, weighted by what a grid boundary between them would cut.

Pieces (buildings or units, see ``geo.atoms``) are joined by the edges of a Delaunay
triangulation: within a block the Gabriel edges of the triangulation of the block's pieces alone
(so that joined pieces have Voronoi cells touching inside the block, see ``geo.polygons``),
across blocks the triangulation of all
pieces. An edge is kept when it stays inside the community and its two pieces lie in the
same block, in blocks sharing an edge (a road between them, not a river and not a mere corner),
or in blocks linked by a bridge (blocks touching a road where it crosses a river). The kept piece
edges become atom edges whose *cut cost* says how bad a boundary there is:

* across a road (the two pieces lie in different blocks): ``ROAD_COST``;
* inside a block: ``BLOCK_COST``;
* inside a compound split because it exceeds the ceiling: ``COMPOUND_COST``.

The cut cost of an atom edge is the sum over the piece edges it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import Delaunay, QhullError, cKDTree
from shapely.geometry.base import BaseGeometry

from geo.atoms import Atoms
from geo.polygons import barrier_lines, distinct_points

ROAD_COST = 1.0
BLOCK_COST = 4.0
COMPOUND_COST = 12.0
#: A bridge links the blocks that touch the road within this distance of the river.
BRIDGE_REACH_M = 30.0


@dataclass(frozen=True)
class AtomGraph:
    """Undirected atom graph as edge arrays.

    Attributes
    ----------
    u, v
        Atom indices of each edge (u < v).
    cost
        Cut cost of each edge (the sum over the piece edges it stands for).
    length
        Mean length of the piece edges, metres.
    xy
        Atom centres, an (n, 2) array (n = number of atoms).
    river_cut
        Atom pairs whose only links crossed a river without a bridge (for messages).
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


def piece_blocks(atoms: Atoms, blocks: np.ndarray) -> np.ndarray:
    """Index of the block holding each piece (-1 outside all blocks)."""
    tree = shapely.STRtree(blocks)
    points = shapely.points(atoms.pieces[["x", "y"]].to_numpy())
    hit_point, hit_block = tree.query(points, predicate="intersects")
    out = np.full(len(points), -1)
    out[hit_point[::-1]] = hit_block[::-1]
    return out


def _delaunay_edges(xy: np.ndarray) -> np.ndarray:
    """Unique Delaunay edges (i < j) of the points; all pairs when there are too few."""
    n = len(xy)
    try:
        simplices = Delaunay(distinct_points(xy)).simplices
    except (QhullError, ValueError):
        i, j = np.triu_indices(n, 1)
        return np.column_stack([i, j])
    pairs = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def _gabriel(xy: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The edges whose diametral circle holds no other point (the Gabriel graph).

    A Gabriel edge crosses the shared Voronoi edge of its points at its midpoint, so within a
    convex block the two Voronoi cells touch inside the block.
    """
    if len(xy) < 3 or len(edges) == 0:
        return edges
    middle = (xy[edges[:, 0]] + xy[edges[:, 1]]) / 2
    radius = np.linalg.norm(xy[edges[:, 0]] - xy[edges[:, 1]], axis=1) / 2
    distance, nearest = cKDTree(xy).query(middle, k=3)
    other = (nearest != edges[:, [0]]) & (nearest != edges[:, [1]])
    blocked = (other & (distance < radius[:, None] * (1 - 1e-9))).any(axis=1)
    return edges[~blocked]


def _bridged_blocks(barriers: gpd.GeoDataFrame | None, blocks: np.ndarray) -> set:
    """Block pairs linked by a bridge: blocks touching a road where it crosses a river."""
    if barriers is None or barriers.empty:
        return set()
    rivers = barriers.geometry.values[(barriers["kind"] == "river").to_numpy()]
    roads = barriers.geometry.values[(barriers["kind"] == "road").to_numpy()]
    if len(rivers) == 0 or len(roads) == 0:
        return set()
    river = shapely.buffer(shapely.union_all(rivers), BRIDGE_REACH_M)
    tree = shapely.STRtree(blocks)
    pairs = set()
    for road in roads:
        span = shapely.intersection(road, river)
        if shapely.is_empty(span) or not shapely.intersects(road, shapely.union_all(rivers)):
            continue
        touching = sorted(tree.query(shapely.buffer(span, 1.0), predicate="intersects"))
        pairs.update((a, b) for a in touching for b in touching if a < b)
    return pairs


def _adjacent_blocks(blocks: np.ndarray, barriers: gpd.GeoDataFrame | None) -> set:
    """Block pairs sharing an edge longer than a metre that is not a river's edge."""
    rivers = None
    if barriers is not None and (barriers["kind"] == "river").any():
        rivers = shapely.union_all(barrier_lines(barriers[barriers["kind"] == "river"]))
    left, right = shapely.STRtree(blocks).query(blocks, predicate="intersects")
    pairs = set()
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a < b:
            edge = shapely.intersection(blocks[a].boundary, blocks[b].boundary)
            if rivers is not None:
                edge = shapely.difference(edge, shapely.buffer(rivers, 0.01))
            if shapely.length(edge) > 1.0:
                pairs.add((a, b))
    return pairs


def atom_graph(
    atoms: Atoms,
    community: BaseGeometry,
    blocks: np.ndarray,
    barriers: gpd.GeoDataFrame | None = None,
) -> AtomGraph:
    """The weighted adjacency graph of the atoms.

    Parameters
    ----------
    atoms
        Atoms and pieces (``geo.atoms.build_atoms``).
    community
        Community (Multi)Polygon, metres.
    blocks
        Blocks of the community (``geo.polygons.blocks``).
    barriers
        Roads and rivers (column ``kind``), or None.

    Returns
    -------
    AtomGraph
    """
    pieces = atoms.pieces
    xy = pieces[["x", "y"]].to_numpy()
    block = piece_blocks(atoms, blocks)
    edges = _delaunay_edges(xy)
    edges = edges[block[edges[:, 0]] != block[edges[:, 1]]]
    for b in np.unique(block):
        members = np.flatnonzero(block == b)
        if len(members) > 1:
            local = _gabriel(xy[members], _delaunay_edges(xy[members]))
            edges = np.concatenate([edges, members[local]])
    atom = pieces["atom"].to_numpy()
    edges = edges[atom[edges[:, 0]] != atom[edges[:, 1]]]
    segments = shapely.linestrings(np.stack([xy[edges[:, 0]], xy[edges[:, 1]]], axis=1))
    shapely.prepare(community)
    keep = shapely.covered_by(segments, community)

    linked_blocks = _adjacent_blocks(blocks, barriers) | _bridged_blocks(barriers, blocks)
    pair = np.sort(block[edges], axis=1)
    passable = (pair[:, 0] == pair[:, 1]) | np.array(
        [tuple(p) in linked_blocks for p in pair.tolist()], dtype=bool
    )
    river_cut = frozenset(map(tuple, np.sort(atom[edges[keep & ~passable]], axis=1).tolist()))
    keep &= passable
    edges, segments = edges[keep], segments[keep]

    compound = pd.factorize(pieces["compound_id"])[0]
    same_block = block[edges[:, 0]] == block[edges[:, 1]]
    same_compound = (compound[edges[:, 0]] >= 0) & (compound[edges[:, 0]] == compound[edges[:, 1]])
    cost = np.where(same_compound, COMPOUND_COST, np.where(same_block, BLOCK_COST, ROAD_COST))
    pairs = pd.DataFrame(
        {
            "u": np.minimum(atom[edges[:, 0]], atom[edges[:, 1]]),
            "v": np.maximum(atom[edges[:, 0]], atom[edges[:, 1]]),
            "cost": cost,
            "length": shapely.length(segments),
        }
    )
    merged = pairs.groupby(["u", "v"], sort=True).agg(
        cost=("cost", "sum"), length=("length", "mean")
    )
    u = merged.index.get_level_values("u").to_numpy()
    v = merged.index.get_level_values("v").to_numpy()
    linked = set(zip(u.tolist(), v.tolist(), strict=True))
    return AtomGraph(
        u,
        v,
        merged["cost"].to_numpy(),
        merged["length"].to_numpy(),
        atoms.table[["x", "y"]].to_numpy(),
        frozenset(river_cut - linked),
    )
