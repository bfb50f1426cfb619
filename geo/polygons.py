"""Grid polygons that tile a community exactly.

The community is cut into *blocks* by its boundary, the road centre lines and the river edges
(``shapely.polygonize`` of the noded lines). A block whose buildings all belong to one grid goes
to that grid whole. A block shared by several grids is cut along the Voronoi edges between
buildings of different grids. Blocks without buildings join the neighbouring grid with which
they share the longest edge. All cut lines are noded together once, so the faces share their
edges exactly and the result is a valid polygon coverage (``shapely.coverage_is_valid``).

All coordinates are metres in a projected CRS (a CGCS2000 Gauss–Krüger zone such as EPSG:4545).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geo.crs import require_projected
from geo.errors import InvalidInput

#: Voronoi dividers reach this far past their block so that noding always meets the block edge.
DIVIDER_OVERSHOOT_M = 1.0
#: Nudge applied to buildings that share a point but belong to different grids.
DUPLICATE_NUDGE_M = 0.5


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


def blocks(community: BaseGeometry, barriers: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """Cut the community into blocks along its boundary, roads and rivers.

    Parameters
    ----------
    community
        Community (Multi)Polygon, metres.
    barriers
        Optional GeoDataFrame of roads and rivers (column ``kind``).

    Returns
    -------
    numpy.ndarray
        Polygons that tile ``community``.
    """
    return _faces(community, barrier_lines(barriers))


def _faces(community: BaseGeometry, lines: np.ndarray) -> np.ndarray:
    """Faces of the community boundary noded with ``lines``, those inside the community."""
    near = lines[shapely.intersects(lines, community)] if len(lines) else lines
    noded = shapely.union_all(np.concatenate([[community.boundary], near]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inside = shapely.contains_properly(community, shapely.point_on_surface(faces))
    return faces[inside]


def distinct_points(xy: np.ndarray) -> np.ndarray:
    """Copy of an (n, 2) array of points with repeated points nudged east, so all differ."""
    _, inverse, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    rank = np.empty(len(xy), dtype=int)
    rank[order] = np.arange(len(xy)) - np.repeat(np.cumsum(counts) - counts, counts)
    return xy + np.column_stack([rank * DUPLICATE_NUDGE_M, np.zeros(len(xy))])


def _dividers(block: BaseGeometry, xy: np.ndarray, labels: np.ndarray) -> list[BaseGeometry]:
    """Voronoi edges between buildings of different grids inside one block."""
    extent = block.buffer(10 * DIVIDER_OVERSHOOT_M).envelope.buffer(10 * DIVIDER_OVERSHOOT_M)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=extent, ordered=True)
    )
    reach = block.buffer(DIVIDER_OVERSHOOT_M)
    out = []
    for label in np.unique(labels):
        region = shapely.coverage_union_all(cells[labels == label])
        out.append(shapely.intersection(region.boundary, reach))
    return out


def _owners(
    faces: np.ndarray, block_of_face: np.ndarray, block_points: dict[int, tuple], grid_of_block
) -> list[Hashable | None]:
    """Grid owning each face: the block's grid, or the nearest building's grid when shared."""
    owners: list[Hashable | None] = []
    reps = shapely.get_coordinates(shapely.point_on_surface(faces))
    for face_rep, block in zip(reps, block_of_face, strict=True):
        if block in grid_of_block:
            owners.append(grid_of_block[block])
        elif block in block_points:
            tree, labels = block_points[block]
            owners.append(labels[tree.query(face_rep)[1]])
        else:
            owners.append(None)
    return owners


def _fill_empty(faces: np.ndarray, owners: list[Hashable | None]) -> None:
    """Give faces without buildings to the neighbour grid with the longest shared edge."""
    tree = shapely.STRtree(faces)
    pending = [i for i, owner in enumerate(owners) if owner is None]
    while pending:
        still = []
        for i in pending:
            shared: dict[Hashable, float] = defaultdict(float)
            for j in tree.query(faces[i], predicate="intersects"):
                if owners[j] is not None:
                    edge = shapely.intersection(faces[i].boundary, faces[j].boundary)
                    shared[owners[j]] += shapely.length(edge)
            best = _longest(shared)
            if best is None:
                still.append(i)
            else:
                owners[i] = best
        if len(still) == len(pending):
            _fill_by_distance(faces, owners, still)
            return
        pending = still


def label_key(label: Hashable) -> tuple:
    """Sort key for grid labels: numbers in numeric order, then the others as text."""
    if isinstance(label, (int, float, np.integer, np.floating)):
        return (0, float(label), "")
    return (1, 0.0, str(label))


def _longest(shared: dict[Hashable, float]) -> Hashable | None:
    """The label with the longest positive shared edge; ties go to the smallest label."""
    best, length = None, 0.0
    for label in sorted(shared, key=label_key):
        if shared[label] > length:
            best, length = label, shared[label]
    return best


def _fill_by_distance(faces: np.ndarray, owners: list[Hashable | None], pending: list[int]):
    """Faces touching no grid (islands without buildings) join the nearest grid's face."""
    owned = np.array([i for i, owner in enumerate(owners) if owner is not None])
    tree = shapely.STRtree(faces[owned])
    for i in pending:
        owners[i] = owners[owned[tree.query_nearest(faces[i])[0]]]


def grid_polygons(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Polygons of the grids that tile the community exactly.

    Parameters
    ----------
    community
        Community (Multi)Polygon in the CRS of ``buildings`` (metres).
    buildings
        GeoDataFrame in a projected CRS with a column ``grid`` (grid label of each row);
        footprints or points. Rows of a building split by unit entrance carry one point per unit.
    barriers
        Optional GeoDataFrame with a column ``kind`` in {"road", "river"}: road centre lines,
        river polygons or lines, same CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per grid label (index = label, sorted), column ``geometry``; a valid coverage
        whose union is ``community``; each building's representative point lies in its grid.

    Raises
    ------
    geo.crs.CRSError
        If ``buildings`` or ``barriers`` are not in a projected CRS.
    geo.errors.InvalidInput
        If a building lies outside the community or has no grid.
    """
    require_projected(buildings, "楼栋")
    if barriers is not None:
        require_projected(barriers, "道路与河流")
    if buildings["grid"].isna().any():
        missing = list(buildings.index[buildings["grid"].isna()][:5])
        raise InvalidInput(f"楼栋 {missing} 没有所属网格")
    xy = distinct_points(
        shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.values))
    )
    labels = buildings["grid"].to_numpy()
    base = barrier_lines(barriers)
    block_polys = _faces(community, base)
    block_tree = shapely.STRtree(block_polys)
    hit_pt, hit_block = block_tree.query(shapely.points(xy), predicate="intersects")
    block_of = np.full(len(xy), -1)
    block_of[hit_pt[::-1]] = hit_block[::-1]
    if (block_of < 0).any():
        outside = list(buildings.index[block_of < 0][:5])
        raise InvalidInput(f"楼栋 {outside} 不在社区边界内")

    grid_of_block: dict[int, Hashable] = {}
    block_points: dict[int, tuple] = {}
    dividers: list[BaseGeometry] = []
    for block in np.unique(block_of):
        members = block_of == block
        grids_here = np.unique(labels[members])
        if len(grids_here) == 1:
            grid_of_block[block] = grids_here[0]
        else:
            block_points[block] = (cKDTree(xy[members]), labels[members])
            dividers += _dividers(block_polys[block], xy[members], labels[members])

    faces = _faces(community, np.concatenate([base, np.asarray(dividers, dtype=object)]))
    hit_face, hit_block = block_tree.query(shapely.point_on_surface(faces), predicate="within")
    block_of_face = np.full(len(faces), -1)
    block_of_face[hit_face] = hit_block
    owners = _owners(faces, block_of_face, block_points, grid_of_block)
    _fill_empty(faces, owners)

    by_grid: dict[Hashable, list[BaseGeometry]] = defaultdict(list)
    for face, owner in zip(faces, owners, strict=True):
        by_grid[owner].append(face)
    index = sorted(by_grid, key=label_key)
    geoms = [shapely.coverage_union_all(np.asarray(by_grid[g], dtype=object)) for g in index]
    return gpd.GeoDataFrame(geometry=geoms, index=index, crs=buildings.crs)


def display_polygons(grids: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplified grid polygons for display that still form a valid coverage.

    Parameters
    ----------
    grids
        Grid polygons (a valid coverage) in a projected CRS.
    tolerance_m
        Simplification tolerance in metres (``shapely.coverage_simplify``).

    Returns
    -------
    geopandas.GeoDataFrame
        Same index and columns, simplified geometries sharing their edges exactly.
    """
    require_projected(grids, "网格")
    simple = shapely.coverage_simplify(grids.geometry.values, tolerance_m)
    return grids.set_geometry(gpd.GeoSeries(simple, index=grids.index, crs=grids.crs))
