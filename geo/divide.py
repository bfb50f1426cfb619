"""Divide a community into grids from scratch.

1. Atoms (``geo.atoms``): compounds, else buildings, else unit entrances under the ceiling.
2. Blocks (``geo.polygons.blocks``) and the weighted atom graph (``geo.graph``): cheap to cut
   across roads, expensive inside blocks and compounds, no links across rivers except at bridges.
3. Each connected part of the graph is split into grids by ``geo.partition``; the number of grids
   is the feasible count closest to the middle of the band. When lumpy atoms defeat the search,
   it runs again with a widened band and ``geo.repair`` moves atoms until every grid is in band;
   failing that, the strict search tries every feasible count. An atom under the floor whose
   neighbours are all too big to share a grid with it proves that no division exists.
4. Grid polygons (``geo.polygons.grid_polygons``), numbered west→east, north→south
   (``geo.numbering``); grid labels are these sequence numbers 1..n.

Input shapes are documented in ``geo.atoms``. Everything is in a projected CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from geo.atoms import Atoms, assignment_frame, build_atoms, piece_points, validate_buildings
from geo.cells import Cells, cell_complex, without_cell
from geo.crs import require_projected
from geo.errors import InvalidInput, NoValidDivision
from geo.exhaustive import MAX_NODES, Undecided, exhaustive_partition
from geo.graph import AtomGraph, atom_graph
from geo.numbering import grid_sequence
from geo.partition import feasible_counts, partition
from geo.polygons import grid_polygons
from geo.repair import repair

#: Widenings of the band (share of each bound) tried before repair when the strict search fails.
RELAXATIONS = (0.1, 0.2, 0.35)
#: Grid counts the strict search tries (nearest the middle of the band first) before relaxing.
STRICT_COUNTS = 1


@dataclass(frozen=True)
class Division:
    """A division of one community.

    Attributes
    ----------
    assignment
        One row per piece: ``building_id``, ``unit_id`` (None for a whole building), ``grid``.
    grids
        Index = grid label (sequence number 1..n), columns ``households`` and ``geometry``.
    """

    assignment: pd.DataFrame
    grids: gpd.GeoDataFrame


@dataclass(frozen=True)
class Prepared:
    """Atoms, blocks and graph of a community, shared by ``divide`` and ``rebalance``."""

    atoms: Atoms
    cells: Cells
    graph: AtomGraph


def prepare(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    units: pd.DataFrame | None,
    barriers: gpd.GeoDataFrame | None,
    band: tuple[int, int],
) -> Prepared:
    """Validate the inputs and build atoms, blocks and the atom graph."""
    buildings = validate_buildings(buildings)
    if barriers is not None:
        require_projected(barriers, "道路与河流")
    atoms = build_atoms(buildings, units, band[1])
    xy = atoms.pieces[["x", "y"]].to_numpy()
    cells = cell_complex(community, xy, barriers, atoms.pieces["atom"].to_numpy())
    outside = without_cell(cells, len(xy))
    if outside.any():
        named = atoms.pieces["building_id"][outside].unique()[:5]
        raise InvalidInput(f"楼栋 {list(named)} 不在社区边界内")
    return Prepared(atoms, cells, atom_graph(atoms, cells))


def components(graph: AtomGraph) -> list[np.ndarray]:
    """Node indices of each connected part of the graph holding atoms, largest first."""
    matrix = coo_array((np.ones(len(graph.u)), (graph.u, graph.v)), shape=(graph.n, graph.n))
    count, label = connected_components(matrix, directed=False)
    parts = [np.flatnonzero(label == c) for c in range(count)]
    parts = [p for p in parts if p[0] < graph.atoms]
    return sorted(parts, key=lambda p: (-len(p), p[0]))


def connected(graph: AtomGraph, nodes: np.ndarray) -> bool:
    """Whether the atoms ``nodes`` form one connected part of the graph."""
    inside = np.zeros(graph.n, dtype=bool)
    inside[nodes] = True
    keep = inside[graph.u] & inside[graph.v]
    matrix = coo_array((np.ones(keep.sum()), (graph.u[keep], graph.v[keep])), (graph.n, graph.n))
    label = connected_components(matrix, directed=False)[1]
    return len(np.unique(label[nodes])) == 1


def describe(prepared: Prepared, nodes: np.ndarray) -> str:
    """Name a connected part of the community in Chinese: its first atoms and households."""
    table = prepared.atoms.table
    nodes = nodes[nodes < prepared.graph.atoms]
    total = int(table["households"].iloc[nodes].sum())
    if len(nodes) == prepared.graph.atoms:
        return f"社区（共 {total} 户）"
    names = "、".join(
        f"{table['name'].iat[i]}（{table['households'].iat[i]} 户）" for i in nodes[:3]
    )
    return names if len(nodes) <= 3 else f"{names} 等 {len(nodes)} 处（共 {total} 户）"


def infeasible_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str:
    """Why a connected part of the community cannot form grids in the band, in Chinese."""
    low, high = band
    if (nodes < prepared.graph.atoms).sum() == prepared.graph.atoms:
        return f"{describe(prepared, nodes)}无法分成每格 {low}–{high} 户的网格"
    inside = set(nodes.tolist())
    by_river = any(a in inside or b in inside for a, b in prepared.graph.river_cut)
    cause = "被河流和社区边界围合" if by_river else "与社区其他部分不相邻"
    return f"{describe(prepared, nodes)}{cause}，无法与其他楼栋组成 {low}–{high} 户的网格"


def stranded_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str | None:
    """Why no division exists when an atom under the floor cannot share a grid with any of its
    neighbours (each pair exceeds the ceiling), in Chinese; None when there is no such atom."""
    low, high = band
    table = prepared.atoms.table
    graph = prepared.graph
    households = graph.weights(table["households"].to_numpy())
    nodes = nodes[nodes < graph.atoms]
    for atom in nodes[households[nodes] < low].tolist():
        near = np.concatenate([graph.v[graph.u == atom], graph.u[graph.v == atom]])
        if len(near) and (households[near] + households[atom] > high).all():
            names = "、".join(
                f"{table['name'].iat[n]}（{households[n]:.0f} 户）"
                for n in sorted(near.tolist())[:3]
            )
            return (
                f"{table['name'].iat[atom]}（{households[atom]:.0f} 户）不足 {low} 户，"
                f"与相邻的{names}合并都会超过 {high} 户"
            )
    return None


def divide(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    units: pd.DataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    band: tuple[int, int] = (300, 500),
    seed: int = 0,
) -> Division:
    """Divide a community into contiguous, compact grids within the household band.

    Parameters
    ----------
    community
        Community (Multi)Polygon in the CRS of ``buildings``.
    buildings
        Buildings (projected CRS), see ``geo.atoms``.
    units
        Unit entrances, see ``geo.atoms``; needed for buildings over the ceiling.
    barriers
        Roads and rivers with a column ``kind`` in {"road", "river"}, or None.
    band
        (low, high) households per grid.
    seed
        Seed of ``numpy.random.default_rng``; the same inputs and seed give the same division.

    Returns
    -------
    Division

    Raises
    ------
    geo.errors.NoValidDivision
        When no division satisfies the band; the message names the atom and the reason.
    geo.crs.CRSError, geo.errors.InvalidInput
        For unusable input.
    """
    prepared = prepare(community, buildings, units, barriers, band)
    households = prepared.graph.weights(prepared.atoms.table["households"].to_numpy())
    rng = np.random.default_rng(seed)
    grid_of_atom = np.full(prepared.graph.n, -1)
    next_label = 0
    parts_of_graph = components(prepared.graph)
    for nodes in parts_of_graph:
        if not feasible_counts(households[nodes].sum(), band):
            raise NoValidDivision(infeasible_reason(prepared, nodes, band))
        stranded = stranded_reason(prepared, nodes, band)
        if stranded is not None:
            raise NoValidDivision(stranded)
    for nodes in parts_of_graph:
        counts = feasible_counts(households[nodes].sum(), band)[:STRICT_COUNTS]
        parts = (
            partition(prepared.graph, households, nodes, band, rng, counts)
            or _relaxed(prepared.graph, households, nodes, band, rng)
            or partition(prepared.graph, households, nodes, band, rng)
            or _exhaustive(prepared, households, nodes, band)
        )
        for part in parts:
            grid_of_atom[part] = next_label
            next_label += 1
    return finish(community, prepared, grid_of_atom, barriers, buildings.crs)


def _relaxed(
    graph: AtomGraph,
    households: np.ndarray,
    nodes: np.ndarray,
    band: tuple[int, int],
    rng: np.random.Generator,
) -> list[np.ndarray] | None:
    """Partition under a widened band, then repair to the strict band; None if that fails."""
    counts = feasible_counts(households[nodes].sum(), band)
    for share in RELAXATIONS:
        wide = (band[0] * (1 - share), band[1] * (1 + share))
        parts = partition(graph, households, nodes, wide, rng, counts=counts)
        if parts is None:
            continue
        labels = np.full(graph.n, -1)
        for k, part in enumerate(parts):
            labels[part] = k
        labels = repair(graph, households, labels, band, rng)
        fixed = [np.flatnonzero(labels == g) for g in np.unique(labels[nodes])]
        if all(
            band[0] <= households[part].sum() <= band[1] and connected(graph, part)
            for part in fixed
        ):
            return fixed
    return None


def _exhaustive(
    prepared: Prepared, households: np.ndarray, nodes: np.ndarray, band: tuple[int, int]
) -> list[np.ndarray]:
    """The division an exhaustive search finds when the randomised ones found none; raises
    ``NoValidDivision`` saying whether none exists or the part is too big to tell."""
    low, high = band
    if len(nodes) <= MAX_NODES:
        try:
            parts = exhaustive_partition(prepared.graph, households, nodes, band)
        except Undecided:
            parts = []
        if parts is None:
            raise NoValidDivision(
                f"{describe(prepared, nodes)}的楼栋无论怎样组合成连片网格，"
                f"都无法使每格在 {low}–{high} 户之间（已穷举），"
                "可考虑调整本社区的每格户数范围"
            )
        if parts:
            return parts
    raise NoValidDivision(
        f"{describe(prepared, nodes)}户数过于集中，未能分成每格 {low}–{high} 户的连片网格"
    )


def polygons_of(
    community: BaseGeometry,
    prepared: Prepared,
    labels: np.ndarray,
    barriers: gpd.GeoDataFrame | None,
    crs: CRS,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Assignment and grid polygons for a labelling of the graph's nodes (-1: none)."""
    graph = prepared.graph
    assignment = assignment_frame(prepared.atoms, labels[: graph.atoms])
    points = piece_points(prepared.atoms, crs).assign(grid=assignment["grid"].to_numpy())
    held = labels[graph.atoms :] >= 0
    free = pd.Series(labels[graph.atoms :][held], index=graph.faces[held])
    return assignment, grid_polygons(community, points, barriers, prepared.cells, free)


def finish(
    community: BaseGeometry,
    prepared: Prepared,
    grid_of_atom: np.ndarray,
    barriers: gpd.GeoDataFrame | None,
    crs: CRS,
) -> Division:
    """Polygons, sequence numbers and the assignment for a labelling of the nodes."""
    assignment, grids = polygons_of(community, prepared, grid_of_atom, barriers, crs)
    sequence = grid_sequence(grids)
    assignment["grid"] = assignment["grid"].map(sequence)
    grids = grids.set_index(sequence.loc[grids.index].to_numpy()).sort_index()
    totals = prepared.atoms.pieces["households"].groupby(assignment["grid"]).sum()
    grids.insert(0, "households", totals.reindex(grids.index, fill_value=0).to_numpy())
    grids.index.name = "grid"
    return Division(assignment, grids)
