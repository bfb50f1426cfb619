"""Atoms of a division: the pieces that a grid boundary may not cut.

Inputs (projected CRS, metres):

``buildings``
    GeoDataFrame indexed by a unique building id, with ``households`` (non-negative integer),
    optional ``compound_id`` (nullable; buildings of one compound/小区 share it) and a footprint
    polygon or a point geometry.
``units``
    DataFrame of unit entrances (单元) with ``building_id``, ``unit_id`` and ``households``; only
    needed for buildings over the ceiling, whose unit households must add up to the building's.

An *atom* is a compound at or under the ceiling, else a building at or under the ceiling, else a
unit entrance. A *piece* is what an assignment names: a whole building, or one unit of a building
over the ceiling. An **assignment** is a DataFrame with one row per piece and columns
``building_id``, ``unit_id`` (None for a whole building) and ``grid`` (the grid label).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_projected
from geo.errors import InvalidInput, NoValidDivision

ASSIGNMENT_COLUMNS = ["building_id", "unit_id", "grid"]


@dataclass(frozen=True)
class Atoms:
    """Atoms and pieces of one community.

    Attributes
    ----------
    pieces
        One row per piece: ``building_id``, ``unit_id`` (None for a whole building), ``atom``
        (index into ``table``), ``households``, ``compound_id``, ``x``, ``y``.
    table
        One row per atom, indexed 0..n-1: ``households``, ``kind`` ("compound", "building" or
        "unit"), ``name`` (for messages), ``x``, ``y`` (household-weighted centre).
    """

    pieces: pd.DataFrame
    table: pd.DataFrame


def validate_buildings(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check ids, household counts and geometries; repair invalid footprints.

    Parameters
    ----------
    buildings
        See the module docstring.

    Returns
    -------
    geopandas.GeoDataFrame
        The buildings, with ``households`` as int64 and ``compound_id`` present.

    Raises
    ------
    geo.errors.InvalidInput
        Naming the offending building ids.
    """
    require_projected(buildings, "楼栋")
    if not buildings.index.is_unique:
        dup = list(buildings.index[buildings.index.duplicated()].unique()[:5])
        raise InvalidInput(f"楼栋编号重复: {dup}")
    households = pd.to_numeric(buildings.get("households"), errors="coerce")
    bad = households.isna() | (households < 0) | (households != np.floor(households))
    if bad.any():
        raise InvalidInput(f"楼栋 {list(buildings.index[bad][:5])} 的户数缺失、为负或不是整数")
    empty = buildings.geometry.isna() | buildings.geometry.is_empty
    if empty.any():
        raise InvalidInput(f"楼栋 {list(buildings.index[empty][:5])} 没有几何")
    out = buildings.assign(households=households.astype("int64"))
    if "compound_id" not in out:
        out["compound_id"] = pd.NA
    invalid = ~out.geometry.is_valid
    if invalid.any():
        out.loc[invalid, out.geometry.name] = shapely.make_valid(out.geometry.values[invalid])
    return out


def unit_points(footprint, count: int) -> np.ndarray:
    """``count`` points spread along the long axis of a footprint, one per unit entrance."""
    if count == 1 or shapely.get_type_id(footprint) == 0:
        return np.repeat(shapely.get_coordinates(shapely.point_on_surface(footprint)), count, 0)
    corners = shapely.get_coordinates(shapely.oriented_envelope(footprint))[:4]
    sides = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)
    k = int(np.argmax(sides[:2]))
    start = (corners[k - 1] + corners[k]) / 2
    end = (corners[k + 1] + corners[(k + 2) % 4]) / 2
    t = (np.arange(count) + 0.5) / count
    return start + t[:, None] * (end - start)


def build_atoms(
    buildings: gpd.GeoDataFrame, units: pd.DataFrame | None, ceiling: int, strict: bool = True
) -> Atoms:
    """Atoms and pieces of a community under a household ceiling.

    Parameters
    ----------
    buildings
        Validated buildings (see ``validate_buildings``).
    units
        Unit entrances, or None when no building exceeds the ceiling.
    ceiling
        Most households a grid may hold.
    strict
        Refuse atoms over the ceiling; otherwise a building over the ceiling without units, or a
        unit over it, is an atom of its own (``geo.divide`` makes it a flagged grid).

    Returns
    -------
    Atoms

    Raises
    ------
    geo.errors.NoValidDivision
        When ``strict``: a building over the ceiling has no units, or a unit alone exceeds the
        ceiling.
    geo.errors.InvalidInput
        A split building's units do not add up to its households.
    """
    points = shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.values))
    compound = buildings["compound_id"].astype("object").where(buildings["compound_id"].notna())
    compound_total = buildings.groupby(compound, dropna=True)["households"].sum()
    small = compound_total[compound_total <= ceiling]
    in_small = pd.Index(small.index).get_indexer(compound)
    ids, households = buildings.index.to_numpy(), buildings["households"].to_numpy()
    compounds = buildings["compound_id"].to_numpy()
    atoms = [(int(total), "compound", f"小区 {_label(c)}") for c, total in small.items()]
    pieces = [
        _piece(ids[pos], None, in_small[pos], households[pos], compounds[pos], points[pos])
        for pos in np.flatnonzero(in_small >= 0)[np.argsort(in_small[in_small >= 0], kind="stable")]
    ]
    for pos in np.flatnonzero(in_small < 0):
        building_id, count = ids[pos], int(households[pos])
        if count <= ceiling or not (strict or _has_units(units, building_id)):
            atoms.append((count, "building", f"楼栋 {building_id}"))
            pieces.append(
                _piece(building_id, None, len(atoms) - 1, count, compounds[pos], points[pos])
            )
            continue
        own = _units_of(units, building_id, count, ceiling, strict)
        xy = unit_points(buildings.geometry.iat[pos], len(own))
        for (unit_id, unit_households), unit_xy in zip(own.items(), xy, strict=True):
            atoms.append((int(unit_households), "unit", f"楼栋 {building_id} 单元 {unit_id}"))
            pieces.append(
                _piece(
                    building_id, unit_id, len(atoms) - 1, unit_households, compounds[pos], unit_xy
                )
            )
    piece_frame = pd.DataFrame(pieces)
    table = pd.DataFrame(atoms, columns=["households", "kind", "name"])
    weight = piece_frame["households"].to_numpy() + 1e-9
    for axis in ("x", "y"):
        moment = np.bincount(piece_frame["atom"], weights=weight * piece_frame[axis])
        table[axis] = moment / np.bincount(piece_frame["atom"], weights=weight)
    return Atoms(piece_frame, table)


def _label(value) -> str:
    """An id for messages: whole numbers without a decimal point."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _piece(building_id, unit_id, atom, households, compound_id, xy) -> dict:
    return {
        "building_id": building_id,
        "unit_id": unit_id,
        "atom": int(atom),
        "households": int(households),
        "compound_id": compound_id,
        "x": float(xy[0]),
        "y": float(xy[1]),
    }


def _has_units(units: pd.DataFrame | None, building_id) -> bool:
    return units is not None and bool((units["building_id"] == building_id).any())


def _units_of(
    units: pd.DataFrame | None, building_id, count: int, ceiling: int, strict: bool
) -> pd.Series:
    """Households per unit of a building over the ceiling, checked (a unit over the ceiling is
    refused only when ``strict``)."""
    own = None if units is None else units[units["building_id"] == building_id]
    if own is None or own.empty:
        raise NoValidDivision(
            f"楼栋 {building_id}（{count} 户）超过每格 {ceiling} 户的上限，"
            "但没有单元数据，无法按单元拆分"
        )
    series = own.set_index("unit_id")["households"].astype("int64").sort_index()
    if int(series.sum()) != count:
        raise InvalidInput(
            f"楼栋 {building_id} 各单元户数之和 {series.sum()} 与楼栋户数 {count} 不符"
        )
    over = series[series > ceiling]
    if strict and not over.empty:
        raise NoValidDivision(
            f"楼栋 {building_id} 单元 {over.index[0]}（{over.iat[0]} 户）"
            f"单独超过每格 {ceiling} 户的上限"
        )
    return series


def piece_points(atoms: Atoms, crs) -> gpd.GeoDataFrame:
    """Pieces as points (for ``geo.polygons.grid_polygons``), same row order as ``pieces``."""
    xy = atoms.pieces[["x", "y"]].to_numpy()
    return gpd.GeoDataFrame(atoms.pieces, geometry=shapely.points(xy), crs=crs)


def assignment_frame(atoms: Atoms, grid_of_atom: np.ndarray) -> pd.DataFrame:
    """The assignment (see the module docstring) giving each piece the grid of its atom."""
    frame = atoms.pieces[["building_id", "unit_id"]].copy()
    frame["grid"] = np.asarray(grid_of_atom)[atoms.pieces["atom"].to_numpy()]
    return frame


def grid_of_pieces(atoms: Atoms, assignment: pd.DataFrame) -> np.ndarray:
    """Grid label of each piece of ``atoms`` under ``assignment``.

    A piece that the assignment names at another level takes the grid of its building (a whole
    building now split by units) or the grid holding most of its units (a split building now
    whole). Raises ``InvalidInput`` for buildings the assignment does not name.
    """
    rows = assignment.assign(unit_key=assignment["unit_id"].astype("object").fillna(""))
    by_unit = rows.drop_duplicates(["building_id", "unit_key"])[["building_id", "unit_key", "grid"]]
    # a building's most common grid, the smallest label among equally common ones
    by_building = (
        rows.groupby(["building_id", "grid"])
        .size()
        .rename("count")
        .reset_index()
        .sort_values(["building_id", "count", "grid"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("building_id")
        .set_index("building_id")["grid"]
    )
    building_ids = atoms.pieces["building_id"].to_numpy()
    keys = pd.MultiIndex.from_arrays(
        [building_ids, ["" if unit is None else unit for unit in atoms.pieces["unit_id"].tolist()]]
    )
    unit_at = pd.MultiIndex.from_frame(by_unit[["building_id", "unit_key"]]).get_indexer(keys)
    grids = np.empty(len(keys), dtype=object)
    named = unit_at >= 0
    grids[named] = by_unit["grid"].to_numpy()[unit_at[named]]
    building_at = by_building.index.get_indexer(building_ids[~named])
    if (building_at < 0).any():
        raise InvalidInput(f"楼栋 {building_ids[~named][building_at < 0][0]} 不在任何网格中")
    grids[~named] = by_building.to_numpy()[building_at]
    return grids
