"""What the engine needs of a community before any search: atoms, blocks and the atom graph.

``prepare`` validates the inputs once; ``geo.divide`` searches the result and
``geo.rebalance`` moves atoms on it, and both turn a labelling of its nodes back into an
assignment and grid polygons with ``polygons_of``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.atoms import Atoms, assignment_frame, build_atoms, piece_points, validate_buildings
from geo.cells import Cells, cell_complex, without_cell
from geo.crs import require_projected
from geo.errors import InvalidInput
from geo.graph import AtomGraph, atom_graph
from geo.polygons import grid_polygons


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
    strict: bool = True,
) -> Prepared:
    """Validate the inputs and build atoms, blocks and the atom graph (atoms over the ceiling
    are refused when ``strict``, see ``geo.atoms.build_atoms``)."""
    buildings = validate_buildings(buildings)
    if barriers is not None:
        require_projected(barriers, "道路与河流")
    atoms = build_atoms(buildings, units, band[1], strict)
    xy = atoms.pieces[["x", "y"]].to_numpy()
    cells = cell_complex(community, xy, barriers, atoms.pieces["atom"].to_numpy())
    outside = without_cell(cells, len(xy))
    if outside.any():
        named = atoms.pieces["building_id"][outside].unique()[:5]
        raise InvalidInput(f"楼栋 {list(named)} 不在社区边界内")
    return Prepared(atoms, cells, atom_graph(atoms, cells))


def polygons_of(community, prepared: Prepared, labels: np.ndarray, barriers, crs):
    """Assignment and grid polygons for a labelling of the graph's nodes (-1: none)."""
    graph = prepared.graph
    assignment = assignment_frame(prepared.atoms, labels[: graph.atoms])
    points = piece_points(prepared.atoms, crs).assign(grid=assignment["grid"].to_numpy())
    held = labels[graph.atoms :] >= 0
    free = pd.Series(labels[graph.atoms :][held], index=graph.faces[held])
    return assignment, grid_polygons(community, points, barriers, prepared.cells, free)
