"""The cell complex of a community: one cell per piece, tiling the community exactly.

The community is cut into *blocks* by its boundary, the road centre lines and the river edges.
Inside a block holding several pieces (buildings or unit entrances), the Voronoi edges between
them cut the block into cells. All lines are noded together once and polygonized, so the faces
share their edges exactly and form a valid polygon coverage. A face holding a piece's point is
that piece's *cell*; faces holding none are *free*: river faces, the rare detached part of a
Voronoi cell in a concave block, and blocks without buildings, which the Voronoi edges of all
pieces cut into several faces so that more than one grid can reach across them.

Grids are unions of cells (``geo.polygons``) and pieces are adjacent when their cells share an
edge (``geo.graph``), so every grid that is connected in the graph gets a polygon in one piece.
Free faces link the pieces around them; river faces only near a bridge (a road across the river).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from shapely.geometry.base import BaseGeometry

#: Voronoi dividers reach this far past their block so that noding always meets the block edge.
DIVIDER_OVERSHOOT_M = 1.0
#: Nudge applied to pieces that share a point.
DUPLICATE_NUDGE_M = 0.5
#: Precision of the noded lines, metres.
GRID_M = 1e-4
#: Faces sharing less boundary than this are not adjacent (a mere corner).
MIN_SHARED_M = 0.5
#: A river face links the pieces along it within this distance of a bridge.
BRIDGE_REACH_M = 30.0
#: Spacing of the extra sites chaining the cells of a compound split by other buildings' cells.
CHAIN_SPACING_M = 4.0


@dataclass(frozen=True)
class Cells:
    """Faces tiling a community and their adjacency.

    Attributes
    ----------
    faces
        Polygons forming a valid coverage of the community.
    piece
        Piece index of each face (-1 for a free face).
    block
        Block index of each face.
    river
        Whether each face lies in a river.
    a, b
        Adjacent face pairs (a < b).
    shared
        Length of each pair's shared edge, metres.
    on_river
        Whether each pair's shared edge lies on a river line.
    bridge_faces
        River faces that a road crosses (bridges), with the part of that road inside the river.
    """

    faces: np.ndarray
    piece: np.ndarray
    block: np.ndarray
    river: np.ndarray
    a: np.ndarray
    b: np.ndarray
    shared: np.ndarray
    on_river: np.ndarray
    bridge_faces: dict[int, BaseGeometry]


def barrier_lines(barriers: gpd.GeoDataFrame | None) -> np.ndarray:
    """Lines of the barriers: road centre lines as they are, rivers by their edges.

    Parameters
    ----------
    barriers
        GeoDataFrame with a column ``kind`` in {"road", "river"}, or None.

    Returns
    -------
    numpy.ndarray
        Array of shapely line geometries (possibly empty).
    """
    if barriers is None or barriers.empty:
        return np.array([], dtype=object)
    geoms = barriers.geometry.values
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    lines = np.where(polygonal, shapely.boundary(geoms), geoms)
    return np.asarray(lines[~shapely.is_empty(lines)], dtype=object)


def faces_of(community: BaseGeometry, lines: np.ndarray) -> np.ndarray:
    """Faces of the community boundary noded with ``lines``, those inside the community."""
    near = lines[shapely.intersects(lines, community)] if len(lines) else lines
    # snap-rounding noder: robust where roads run along the community boundary
    noded = shapely.union_all(np.concatenate([[community.boundary], near]), grid_size=GRID_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inside = shapely.contains_properly(community, shapely.point_on_surface(faces))
    kept: np.ndarray = faces[inside]
    return kept


def distinct_points(xy: np.ndarray) -> np.ndarray:
    """Copy of an (n, 2) array of points with repeated points nudged east, so all differ."""
    _, inverse, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    rank = np.empty(len(xy), dtype=int)
    rank[order] = np.arange(len(xy)) - np.repeat(np.cumsum(counts) - counts, counts)
    return xy + np.column_stack([rank * DUPLICATE_NUDGE_M, np.zeros(len(xy))])


def locate(polygons: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Index of the polygon holding each point (-1 for none)."""
    hit_point, hit_poly = shapely.STRtree(polygons).query(
        shapely.points(xy), predicate="intersects"
    )
    out = np.full(len(xy), -1)
    out[hit_point[::-1]] = hit_poly[::-1]
    return out


def _voronoi_edges(block: BaseGeometry, xy: np.ndarray) -> BaseGeometry:
    """Voronoi edges between the points of one block, reaching just past the block."""
    extent = block.buffer(10 * DIVIDER_OVERSHOOT_M).envelope
    edges = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=extent, only_edges=True)
    return shapely.intersection(edges, block.buffer(DIVIDER_OVERSHOOT_M))


def cell_complex(
    community: BaseGeometry,
    xy: np.ndarray,
    barriers: gpd.GeoDataFrame | None = None,
    groups: np.ndarray | None = None,
) -> Cells:
    """Cells of the pieces at ``xy`` within the community's blocks.

    Parameters
    ----------
    community
        Community (Multi)Polygon, metres.
    xy
        (n, 2) array of piece points, metres, inside the community.
    barriers
        Roads and rivers (column ``kind``), or None.
    groups
        Group of each piece (its atom), or None. The cells of a group that lie in several
        parts of one block (a compound whose buildings interleave with others) are joined: the
        group's pieces there are chained by extra Voronoi sites along the shortest lines between
        them, so the group's cells there become one region.

    Returns
    -------
    Cells

    Pieces outside every block get no cell (``without_cell`` finds them); a piece's
    cell is one face, or several faces when chained.
    """
    xy = distinct_points(np.asarray(xy, dtype=float))
    base = barrier_lines(barriers)
    blocks = faces_of(community, base)
    block_of_piece = locate(blocks, xy)
    cells = _cells(community, barriers, base, blocks, xy, block_of_piece)
    if groups is None:
        return cells
    extra, owner = _chain_sites(cells, xy, np.asarray(groups), block_of_piece)
    if not len(extra):
        return cells
    sites = distinct_points(np.concatenate([xy, extra]))
    site_piece = np.concatenate([np.arange(len(xy)), owner])
    return _cells(community, barriers, base, blocks, sites, block_of_piece[site_piece], site_piece)


def without_cell(cells: Cells, count: int) -> np.ndarray:
    """Whether each of ``count`` pieces has no cell, that is, lies outside every block."""
    return ~np.isin(np.arange(count), cells.piece)


def _cells(
    community: BaseGeometry,
    barriers: gpd.GeoDataFrame | None,
    base: np.ndarray,
    blocks: np.ndarray,
    sites: np.ndarray,
    block_of_site: np.ndarray,
    site_piece: np.ndarray | None = None,
) -> Cells:
    """The cell complex of Voronoi ``sites`` within the blocks; ``site_piece`` maps extra sites
    to their piece (default: site i is piece i)."""
    dividers = []
    for block in np.unique(block_of_site[block_of_site >= 0]):
        members = np.flatnonzero(block_of_site == block)
        if len(members) > 1:
            dividers.append(_voronoi_edges(blocks[block], sites[members]))
    empty = np.setdiff1d(np.arange(len(blocks)), block_of_site)
    if len(empty) and len(sites) > 1:
        # blocks without buildings are cut by the Voronoi edges of all pieces, so that several
        # grids can reach across a square or a park
        dividers.append(_voronoi_edges(shapely.union_all(blocks[empty]), sites))
    faces = faces_of(community, np.concatenate([base, np.asarray(dividers, dtype=object)]))
    block = locate(blocks, shapely.get_coordinates(shapely.point_on_surface(faces)))
    # a point on a block's edge takes the face in its own block; a piece's own point comes
    # before its chain sites
    hit_site, hit_face = shapely.STRtree(faces).query(shapely.points(sites), predicate="intersects")
    own = block[hit_face] == block_of_site[hit_site]
    piece = np.full(len(faces), -1)
    owner = hit_site if site_piece is None else site_piece[hit_site]
    piece[hit_face[own][::-1]] = owner[own][::-1]
    river_lines = None
    if barriers is not None and (barriers["kind"] == "river").any():
        river_lines = shapely.union_all(
            barrier_lines(barriers[(barriers["kind"] == "river").to_numpy()])
        )
    a, b, shared, on_river = _shared_edges(faces, river_lines)
    isolated = piece < 0
    isolated[a] = isolated[b] = False
    if isolated.any():
        faces, kept = _absorb(faces, isolated)
        block, piece = block[kept], piece[kept]
        a, b, shared, on_river = _shared_edges(faces, river_lines)

    rivers = _rivers(barriers)
    river = np.zeros(len(faces), dtype=bool)
    if rivers is not None:
        river = shapely.within(shapely.point_on_surface(faces), rivers) & (piece < 0)
    return Cells(
        faces, piece, block, river, a, b, shared, on_river, _bridges(faces, river, barriers)
    )


def _absorb(faces: np.ndarray, absorbed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces with each ``absorbed`` face merged into its neighbour; returns (faces, index of
    the faces kept).

    Snap-rounding leaves the odd sliver where lines nearly coincide: a free face whose edges
    are all shorter than ``MIN_SHARED_M``, so it is adjacent to nothing and whichever grid
    took it would be in two parts. Dropping it would leave a hole in the coverage; instead it
    joins the neighbour it shares most boundary with, preferring a face that stays (a sliver
    next only to slivers follows them to one). The faces are noded, so ``coverage_union_all``
    merges them exactly.
    """
    small = np.flatnonzero(absorbed)
    s, n = shapely.STRtree(faces).query(faces[small], predicate="intersects")
    s = small[s]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(faces[s]), shapely.boundary(faces[n]))
    )
    ok = (n != s) & (shared > 0)
    s, n, shared = s[ok], n[ok], shared[ok]
    order = np.lexsort((-shared, absorbed[n], s))
    best = order[np.unique(s[order], return_index=True)[1]]
    # each absorbed face points at one face and the others point nowhere, so a component of
    # these links holds one face that stays, which takes the rest, or none (all kept as is)
    count = len(faces)
    links = coo_array((np.ones(len(best)), (s[best], n[best])), shape=(count, count))
    component = connected_components(links, directed=False)[1]
    host = np.full(count, -1)
    host[component[~absorbed]] = np.flatnonzero(~absorbed)
    merged = absorbed & (host[component] >= 0)
    faces = faces.copy()
    for face in np.unique(host[component[merged]]):
        faces[face] = shapely.coverage_union_all(faces[component == component[face]])
    kept = np.flatnonzero(~merged)
    return faces[kept], kept


def _chain_sites(
    cells: Cells, xy: np.ndarray, groups: np.ndarray, block_of_piece: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Extra sites joining the cells of each group that lie in several parts of one block:
    points every ``CHAIN_SPACING_M`` along the minimum spanning tree of the group's pieces in
    that block, each belonging to the nearer piece. Returns (sites, piece of each site)."""
    held = cells.piece >= 0
    group_of_face = np.full(len(cells.faces), -1)
    group_of_face[held] = groups[cells.piece[held]]
    same = held[cells.a] & held[cells.b]
    same &= group_of_face[cells.a] == group_of_face[cells.b]
    n = len(cells.faces)
    matrix = coo_array((np.ones(same.sum()), (cells.a[same], cells.b[same])), shape=(n, n))
    part = connected_components(matrix, directed=False)[1]
    split = (
        pd.DataFrame({"group": group_of_face[held], "block": cells.block[held], "part": part[held]})
        .groupby(["group", "block"])["part"]
        .nunique()
    )
    sites, owner = [], []
    for group, block in split.index[split.to_numpy() > 1]:
        members = np.flatnonzero((groups == group) & (block_of_piece == block))
        points = xy[members]
        distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
        tree = minimum_spanning_tree(distance).tocoo()
        for i, j in zip(tree.row.tolist(), tree.col.tolist(), strict=True):
            steps = int(distance[i, j] // CHAIN_SPACING_M)
            t = np.arange(1, steps) / steps
            sites.append(points[i] + t[:, None] * (points[j] - points[i]))
            owner.append(np.where(t < 0.5, members[i], members[j]))
    if not sites:
        return np.empty((0, 2)), np.empty(0, dtype=int)
    return np.concatenate(sites), np.concatenate(owner)


def _shared_edges(
    faces: np.ndarray, river_lines: BaseGeometry | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Adjacent face pairs (a < b), their shared length and whether it runs along a river.

    Noded faces share their vertices exactly, so a shared edge is a run of boundary segments
    that appear in both faces' rings: the first and the last ring to list a segment are the
    two faces it lies between. Plain arrays (one lexsort) rather than a pandas merge and
    groupby, which cost three times as much; the lengths are summed per pair in the order
    the rings first list them, compensated (``_compensated_sums``), as pandas summed them.
    """
    rings, face = shapely.get_rings(faces, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    start, end = np.round(xy[:-1][same], 6), np.round(xy[1:][same], 6)
    owner = face[ring[:-1][same]]
    flip = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
    lo = np.where(flip[:, None], end, start)
    hi = np.where(flip[:, None], start, end)
    # equal segments side by side, each run in ring order (lexsort is stable)
    order = np.lexsort((hi[:, 1], hi[:, 0], lo[:, 1], lo[:, 0]))
    ends = np.concatenate([lo, hi], axis=1)[order]
    head = np.ones(len(order), dtype=bool)
    head[1:] = (ends[1:] != ends[:-1]).any(axis=1)
    runs = np.flatnonzero(head)
    first = order[runs]
    last = order[np.append(runs[1:], len(order)) - 1]
    between = owner[first] != owner[last]
    first, last = first[between], last[between]
    length = np.hypot(hi[first, 0] - lo[first, 0], hi[first, 1] - lo[first, 1])
    river = np.zeros(len(first), dtype=bool)
    if river_lines is not None and len(first):
        tree = shapely.STRtree(_segments(river_lines))
        middle = shapely.points((lo[first] + hi[first]) / 2)
        river[tree.query(middle, predicate="dwithin", distance=0.01)[0]] = True
    a = np.minimum(owner[first], owner[last])
    b = np.maximum(owner[first], owner[last])
    by_pair = np.lexsort((first, b, a))
    a, b = a[by_pair], b[by_pair]
    new_pair = np.ones(len(a), dtype=bool)
    new_pair[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    shared = _compensated_sums(length[by_pair], new_pair)
    river_m = _compensated_sums((length * river)[by_pair], new_pair)
    kept = shared > MIN_SHARED_M
    a, b = a[new_pair][kept], b[new_pair][kept]
    return a, b, shared[kept], river_m[kept] > 0.5 * shared[kept]


def _compensated_sums(values: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Sum of each run of ``values`` that starts where ``head`` is set, in order, with Kahan's
    compensation (as pandas' groupby sums): one step for all runs at once per position."""
    starts = np.flatnonzero(head)
    sizes = np.diff(np.append(starts, len(values)))
    total = np.zeros(len(starts))
    carry = np.zeros(len(starts))
    for step in range(int(sizes.max(initial=0))):
        runs = np.flatnonzero(sizes > step)
        term = values[starts[runs] + step] - carry[runs]
        ahead = total[runs] + term
        carry[runs] = (ahead - total[runs]) - term
        total[runs] = ahead
    return total


def _segments(lines: BaseGeometry) -> np.ndarray:
    """The two-point segments of (Multi)LineStrings: small envelopes for a spatial index."""
    xy, part = shapely.get_coordinates(shapely.get_parts(lines), return_index=True)
    same = part[1:] == part[:-1]
    segments: np.ndarray = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1))
    return segments


def free_groups(cells: Cells) -> np.ndarray:
    """Group of each free face outside rivers (touching free faces form one group), else -1."""
    free = (cells.piece < 0) & ~cells.river
    both = free[cells.a] & free[cells.b] & ~cells.on_river
    n = len(cells.faces)
    matrix = coo_array((np.ones(both.sum()), (cells.a[both], cells.b[both])), shape=(n, n))
    group = connected_components(matrix, directed=False)[1]
    return np.where(free, group, -1)


def _rivers(barriers: gpd.GeoDataFrame | None) -> BaseGeometry | None:
    if barriers is None or not (barriers["kind"] == "river").any():
        return None
    geoms = barriers.geometry.values[(barriers["kind"] == "river").to_numpy()]
    polygons = geoms[np.isin(shapely.get_type_id(geoms), [3, 6])]
    return shapely.union_all(polygons) if len(polygons) else None


def _bridges(
    faces: np.ndarray, river: np.ndarray, barriers: gpd.GeoDataFrame | None
) -> dict[int, BaseGeometry]:
    """River faces crossed by a road: face index → the road's part inside the river."""
    if not river.any() or barriers is None:  # river faces come from the barriers
        return {}
    roads = barriers.geometry.values[(barriers["kind"] == "road").to_numpy()]
    if len(roads) == 0:
        return {}
    roads = shapely.union_all(roads)
    out: dict[int, BaseGeometry] = {}
    for f in np.flatnonzero(river):
        span = shapely.intersection(shapely.boundary(faces[f]), roads)
        if shapely.length(span) > MIN_SHARED_M:
            out[int(f)] = span
    return out
