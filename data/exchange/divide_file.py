"""``wangge divide`` on any building layer: read files, divide with ``geo``, write a GeoPackage.

The I/O edges of the grid engine for data that is not in the database: any layer that
``data.imports.read_vector`` reads (Shapefile, zipped or not; GeoPackage; GeoJSON;
FlatGeobuf), in any CRS, checked as imports are (geometry kinds, repairs, households per
building), with buildings named by their feature number in the file (from 1). The output is
in CGCS2000 (EPSG:4490).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from data.imports import ImportRejected, Issue, read_vector
from data.imports.columns import empty_cells, int_column
from data.imports.geometry import checked_geometries
from geo.crs import local_crs_for
from geo.divide import TIME_LIMIT_S, Flag, divide
from geo.numbering import grid_codes

#: The hull standing in for a missing community boundary is widened by this much.
HULL_MARGIN_M = 30.0
OUTPUT_CRS = "EPSG:4490"


@dataclass(frozen=True)
class DividedLayer:
    grids: gpd.GeoDataFrame  # code, households, geometry (EPSG:4490)
    buildings: gpd.GeoDataFrame  # the input's attributes + grid_code (EPSG:4490)
    source_crs: str
    metric_crs: str  # the local projected CRS the engine measured in
    exceptions: tuple[Flag, ...] = ()
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)  # what was repaired on reading


class OutputRefused(ValueError):
    """``--out`` cannot be written, or would overwrite an input."""


def check_output(out: Path, inputs: list[Path]) -> None:
    """Refuse an output path before any work: an input file, a folder, or a place that
    cannot be written."""
    target = out.resolve()
    if any(target == p.resolve() for p in inputs if p is not None):
        raise OutputRefused(f"输出文件 {out} 就是输入文件，请换一个文件名")
    if target.is_dir():
        raise OutputRefused(f"输出路径 {out} 是一个文件夹，请给出文件名（如 grids.gpkg）")
    if not target.parent.is_dir():
        raise OutputRefused(f"输出文件夹 {target.parent} 不存在")
    writable = os.access(target, os.W_OK) if target.exists() else os.access(target.parent, os.W_OK)
    if not writable:
        raise OutputRefused(f"无法写入 {out}（没有写权限）")


def _checked_layer(
    path: Path, households_field: str
) -> tuple[gpd.GeoDataFrame, pd.Series, list[str]]:
    """The building layer with invalid footprints repaired, its households per building as
    whole numbers ≥ 0, and notes on the repairs; or ImportRejected naming every bad feature."""
    label = path.name
    layer = read_vector(path, label)
    if households_field not in layer.columns:
        columns = "、".join(c for c in layer.columns if c not in ("geometry", "_file", "_row"))
        raise ImportRejected(
            [
                Issue(
                    label,
                    None,
                    households_field,
                    "unknown_column",
                    f"没有此字段；图层的字段有：{columns}",
                )
            ]
        )
    layer, issues, notes = checked_geometries(layer, {"polygon", "point"})
    values = layer[households_field].astype("string").str.strip().replace("", pd.NA)
    frame = layer[["_file", "_row"]].assign(households=values)
    households, found = int_column(frame, "households", households_field)
    issues += found + empty_cells(frame, ("households",), {"households": households_field})
    if issues:
        raise ImportRejected(sorted(issues, key=lambda issue: issue.row or 0))
    return layer, households, notes


def _barriers(path: Path | None, crs) -> gpd.GeoDataFrame | None:
    """Roads (lines) and rivers (polygons) in metres; a ``kind`` column wins if present."""
    if path is None:
        return None
    layer = read_vector(path, path.name).to_crs(crs)
    if "kind" not in layer.columns:
        polygonal = layer.geom_type.isin(["Polygon", "MultiPolygon"])
        layer["kind"] = polygonal.map({True: "river", False: "road"})
    return layer[["kind", "geometry"]]


def divide_layer(
    buildings_path: Path,
    households_field: str,
    *,
    compound_field: str | None = None,
    boundary_path: Path | None = None,
    barriers_path: Path | None = None,
    community_code: str = "000000000000",
    band: tuple[int, int] = (300, 500),
    seed: int = 0,
    strict: bool = False,
    time_limit: float | None = TIME_LIMIT_S,
    progress: Callable[[str, int, int], None] | None = None,
) -> DividedLayer:
    """Divide the buildings of one community into grids.

    Without a boundary the community is the buildings' convex hull, widened by
    ``HULL_MARGIN_M``. The engine measures in the data's local projected CRS
    (``geo.crs.local_crs_for``: the GK zone in China, else UTM). Raises ``ImportRejected`` for
    unusable input and ``geo.errors.GridError`` when the engine refuses (only with ``strict``
    for rules that cannot be kept; its message says why).
    """
    label = buildings_path.name
    layer, households, notes = _checked_layer(buildings_path, households_field)
    source_crs = layer.attrs.get("source_crs", "")
    if compound_field and compound_field not in layer.columns:
        raise ImportRejected([Issue(label, None, compound_field, "unknown_column", "没有此字段")])
    crs = local_crs_for(layer)
    metric = layer.to_crs(crs)
    compound = (
        metric[compound_field].astype("string")
        if compound_field
        else pd.Series(pd.NA, index=metric.index)
    )
    buildings = gpd.GeoDataFrame(  # indexed by feature number, as the engine's messages say
        {"households": households.to_numpy(), "compound_id": compound.to_numpy()},
        geometry=metric.geometry.to_numpy(),
        index=pd.Index(layer["_row"].to_numpy(), name="building_id"),
        crs=crs,
    )
    if boundary_path is not None:
        boundary = shapely.union_all(
            read_vector(boundary_path, boundary_path.name).to_crs(crs).geometry.values
        )
    else:
        boundary = shapely.convex_hull(shapely.union_all(buildings.geometry.values)).buffer(
            HULL_MARGIN_M
        )
    division = divide(
        boundary,
        buildings,
        None,
        _barriers(barriers_path, crs),
        band,
        seed,
        strict=strict,
        time_limit=time_limit,
        progress=progress,
    )
    codes = dict(
        zip(division.grids.index, grid_codes(community_code, division.grids.index), strict=True)
    )
    grid_of = division.assignment.set_index("building_id")["grid"].map(codes)
    grids = gpd.GeoDataFrame(
        {
            "code": [codes[g] for g in division.grids.index],
            "households": division.grids["households"].to_numpy(),
        },
        geometry=division.grids.geometry.to_numpy(),
        crs=crs,
    ).to_crs(OUTPUT_CRS)
    out = layer.drop(columns=["_file", "_row"]).to_crs(OUTPUT_CRS)
    out["grid_code"] = grid_of.reindex(layer["_row"].to_numpy()).to_numpy()
    return DividedLayer(
        grids,
        out,
        source_crs,
        crs.to_string(),
        division.exceptions,
        division.timed_out,
        notes,
    )


def write_layers(result: DividedLayer, out: Path) -> None:
    """Write layers ``grids`` and ``buildings`` to a GeoPackage, replacing the file only once
    both are written; OutputRefused when it cannot be written."""
    part = out.with_name(out.stem + ".part.gpkg")
    try:
        part.unlink(missing_ok=True)
        pyogrio.write_dataframe(result.grids, part, layer="grids", driver="GPKG")
        pyogrio.write_dataframe(
            result.buildings, part, layer="buildings", driver="GPKG", append=True
        )
        part.replace(out)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        part.unlink(missing_ok=True)
        raise OutputRefused(f"无法写入 {out}（{str(exc).splitlines()[0]}）") from exc
