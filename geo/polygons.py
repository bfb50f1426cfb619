"""Grid polygons that tile a community exactly.

A grid is the union of its pieces' cells (``geo.cells``): the community is cut into blocks by
its boundary, roads and rivers, and blocks holding several pieces along the Voronoi edges between
them; all lines are noded together once, so the faces share their edges exactly and the result is
a valid polygon coverage (``shapely.coverage_is_valid``). Free faces (blocks without buildings,
river faces) join the neighbouring grid with the longest shared edge, or the grid whose parts they
join.

All coordinates are metres in a projected CRS (a CGCS2000 Gauss–Krüger zone such as EPSG:4545).
"""

from __future__ import annotations

from collections.abc import Hashable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from geo.cells import (
    Cells,
    barrier_lines,
    cell_complex,
    faces_of,
    free_groups,
    without_cell,
)
from geo.crs import require_projected
from geo.errors import InvalidInput

#: Rounds of giving free faces to the grid whose parts they join.
JOIN_ROUNDS = 4


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
    return faces_of(community, barrier_lines(barriers))


def label_key(label: Hashable) -> tuple[int, float, str]:
    """Sort key for grid labels: numbers in numeric order, then the others as text."""
    if isinstance(label, (int, float, np.integer, np.floating)):
        return (0, float(label), "")
    return (1, 0.0, str(label))


def face_owners(
    cells: Cells, grid_of_piece: np.ndarray, free: pd.Series | None = None
) -> np.ndarray:
    """Grid (an integer position) of every face of ``cells``.

    A cell goes to its piece's grid, a free face named in ``free`` (face index → position) to
    that grid. Other free faces join the neighbouring grid with the longest
    shared edge (islands without buildings the nearest grid); then a free face that joins two
    parts of one grid goes to that grid, so grids connected through it are in one piece.
    """
    owner = np.full(len(cells.faces), -1)
    owned = cells.piece >= 0
    owner[owned] = grid_of_piece[cells.piece[owned]]
    if free is not None:
        owner[free.index.to_numpy(dtype=int)] = free.to_numpy(dtype=int)
    while (owner < 0).any():
        before = int((owner < 0).sum())
        both = np.concatenate([cells.a, cells.b]), np.concatenate([cells.b, cells.a])
        free, other = both
        pick = (owner[free] < 0) & (owner[other] >= 0)
        shared = np.concatenate([cells.shared, cells.shared])[pick]
        table = pd.DataFrame({"face": free[pick], "owner": owner[other[pick]], "shared": shared})
        best = (
            table.groupby(["face", "owner"], as_index=False)["shared"]
            .sum()
            .sort_values(["face", "shared", "owner"], ascending=[True, False, True])
            .drop_duplicates("face")
        )
        owner[best["face"].to_numpy()] = best["owner"].to_numpy()
        if int((owner < 0).sum()) == before:
            _own_by_distance(cells.faces, owner)
    _join_parts(cells, owner)
    _drop_orphans(cells, owner)
    return owner


def _own_by_distance(faces: np.ndarray, owner: np.ndarray) -> None:
    """Faces touching no grid (islands without buildings) join the nearest owned face's grid."""
    owned = np.flatnonzero(owner >= 0)
    pending = np.flatnonzero(owner < 0)
    _, nearest = shapely.STRtree(faces[owned]).query_nearest(faces[pending], all_matches=False)
    owner[pending] = owner[owned[nearest]]


def parts_of(cells: Cells, owner: np.ndarray) -> np.ndarray:
    """Connected part of each face within its grid (faces joined by a shared edge)."""
    same = owner[cells.a] == owner[cells.b]
    n = len(owner)
    matrix = coo_array((np.ones(same.sum()), (cells.a[same], cells.b[same])), shape=(n, n))
    part: np.ndarray = connected_components(matrix, directed=False)[1]
    return part


def _join_parts(cells: Cells, owner: np.ndarray) -> None:
    """Give a split grid the free faces on a shortest path joining two of its parts."""
    group = free_groups(cells)
    group[list(cells.bridge_faces)] = len(group) + np.arange(len(cells.bridge_faces))
    neighbours: list[list[int]] = [[] for _ in range(len(owner))]
    for x, y in zip(cells.a.tolist(), cells.b.tolist(), strict=True):
        neighbours[x].append(y)
        neighbours[y].append(x)
    for _ in range(JOIN_ROUNDS):
        part = parts_of(cells, owner)
        split = pd.Series(part).groupby(owner).nunique()
        joined = False
        for grid in split.index[split.to_numpy() > 1]:
            for g in np.unique(group[group >= 0]):
                path = _free_path(neighbours, np.flatnonzero(group == g), owner, part, grid)
                if path and _keeps_donors_whole(cells, owner, path, grid):
                    owner[path] = grid
                    joined = True
                    break
        if not joined:
            return


def _keeps_donors_whole(cells: Cells, owner: np.ndarray, path: list[int], grid: int) -> bool:
    """Whether giving the faces on ``path`` to ``grid`` leaves every grid holding them in no
    more parts with buildings than before."""
    donors = set(owner[path].tolist())
    after = owner.copy()
    after[path] = grid
    return all(_held_parts(cells, after, d) <= _held_parts(cells, owner, d) for d in donors)


def _held_parts(cells: Cells, owner: np.ndarray, grid: int) -> int:
    """Number of parts of ``grid`` that hold a piece's cell."""
    part = parts_of(cells, owner)
    return len(np.unique(part[(owner == grid) & (cells.piece >= 0)]))


def _free_path(
    neighbours: list[list[int]], faces: np.ndarray, owner: np.ndarray, part: np.ndarray, grid: int
) -> list[int]:
    """Shortest path through ``faces`` from one part of ``grid`` to another, or []."""
    inside = set(faces.tolist())
    starts: dict[int, int] = {}
    for f in faces.tolist():
        for n in neighbours[f]:
            if owner[n] == grid and n not in inside:
                starts.setdefault(f, int(part[n]))
    if len(set(starts.values())) < 2:
        return []
    first = min(starts.values())
    parent: dict[int, int | None] = {f: None for f, p in starts.items() if p == first}
    queue = list(parent)
    for f in queue:
        if starts.get(f, first) != first:
            path = [f]
            while (step := parent[path[-1]]) is not None:
                path.append(step)
            return path
        for n in neighbours[f]:
            if n in inside and n not in parent:
                parent[n] = f
                queue.append(n)
    return []


def _drop_orphans(cells: Cells, owner: np.ndarray) -> None:
    """Parts of a grid made of free faces only (cut off when a join took a face they hung on)
    go to the neighbouring grid with the longest shared edge."""
    face = np.concatenate([cells.a, cells.b])
    other = np.concatenate([cells.b, cells.a])
    shared = np.concatenate([cells.shared, cells.shared])
    for _ in range(JOIN_ROUNDS):
        part = parts_of(cells, owner)
        held = np.zeros(part.max() + 1, dtype=bool)
        held[part[cells.piece >= 0]] = True
        orphan = ~held[part]
        pick = orphan[face] & (owner[other] != owner[face])
        if not pick.any():
            return
        table = pd.DataFrame(
            {"part": part[face[pick]], "owner": owner[other[pick]], "shared": shared[pick]}
        )
        best = (
            table.groupby(["part", "owner"], as_index=False)["shared"]
            .sum()
            .sort_values(["part", "shared", "owner"], ascending=[True, False, True])
            .drop_duplicates("part")
            .set_index("part")["owner"]
        )
        moving = orphan & np.isin(part, best.index)
        owner[moving] = best.loc[part[moving]].to_numpy()


def union_by_owner(cells: Cells, owner: np.ndarray, count: int) -> list[BaseGeometry]:
    """One polygon per grid position 0..count-1: the coverage union of its faces."""
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(count + 1))
    return [
        shapely.coverage_union_all(cells.faces[order[bounds[g] : bounds[g + 1]]])
        for g in range(count)
    ]


def grid_polygons(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None = None,
    cells: Cells | None = None,
    free: pd.Series | None = None,
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
    cells
        The cell complex of these rows' points (``geo.cells.cell_complex``), when the caller
        has it already.
    free
        Grid label of free faces of ``cells`` that a division placed (index = face index);
        the other free faces go to a neighbouring grid.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per grid label (index = label, sorted), column ``geometry``; a valid coverage
        whose union is ``community``; each building's representative point lies in its grid,
        and a grid whose cells are linked (``geo.graph``) is one polygon.

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
    if cells is None:
        xy = shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.values))
        cells = cell_complex(community, xy, barriers)
        outside = without_cell(cells, len(xy))
        if outside.any():
            raise InvalidInput(f"楼栋 {list(buildings.index[outside][:5])} 不在社区边界内")
    index = sorted(pd.unique(buildings["grid"]), key=label_key)
    position = pd.Series(np.arange(len(index)), index=pd.Index(index, dtype=object))
    grid_of_piece = position.loc[buildings["grid"].astype(object).to_numpy()].to_numpy()
    free_position = None if free is None else position.loc[free.astype(object)].set_axis(free.index)
    owner = face_owners(cells, grid_of_piece, free_position)
    geoms = union_by_owner(cells, owner, len(index))
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
        Same index and columns, simplified geometries sharing their edges exactly; the
        community's outline is kept as it is.
    """
    require_projected(grids, "网格")
    simple = shapely.coverage_simplify(grids.geometry.values, tolerance_m, simplify_boundary=False)
    return grids.set_geometry(gpd.GeoSeries(simple, index=grids.index, crs=grids.crs))
