"""``wangge divide`` on any building layer: read files, divide with ``geo``, write a GeoPackage.

The I/O edges of the grid engine for data that is not in the database: any layer that
``data.importing.read_vector`` reads (Shapefile, zipped or not; GeoPackage; GeoJSON;
FlatGeobuf), in any CRS. The output is in CGCS2000 (EPSG:4490).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from data.importing import ImportRejected, Issue, read_vector
from geo.crs import gk_crs_for
from geo.divide import divide
from geo.numbering import grid_codes

#: The hull standing in for a missing community boundary is widened by this much.
HULL_MARGIN_M = 30.0
OUTPUT_CRS = "EPSG:4490"


@dataclass(frozen=True)
class DividedLayer:
    grids: gpd.GeoDataFrame  # code, households, geometry (EPSG:4490)
    buildings: gpd.GeoDataFrame  # the input's attributes + grid_code (EPSG:4490)
    source_crs: str


def _households(layer: gpd.GeoDataFrame, field: str, label: str) -> pd.Series:
    if field not in layer.columns:
        columns = ", ".join(c for c in layer.columns if c not in ("geometry", "_file", "_row"))
        raise ImportRejected(
            [Issue(label, None, field, f"no such field; the layer has: {columns}")]
        )
    values = pd.to_numeric(layer[field], errors="coerce")
    bad = values.isna() | (values < 0) | (values % 1 != 0)
    if bad.any():
        rows = layer.loc[bad, "_row"].head(5).tolist()
        raise ImportRejected(
            [Issue(label, int(r), field, "households must be a whole number ≥ 0") for r in rows]
        )
    return values.astype("int64")


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
) -> DividedLayer:
    """Divide the buildings of one community into grids.

    Without a boundary the community is the buildings' convex hull, widened by
    ``HULL_MARGIN_M``. Raises ``ImportRejected`` for unusable input and
    ``geo.errors.GridError`` when the engine refuses (its message says why).
    """
    label = buildings_path.name
    layer = read_vector(buildings_path, label)
    source_crs = layer.attrs.get("source_crs", "")
    households = _households(layer, households_field, label)
    crs = gk_crs_for(layer)
    metric = layer.to_crs(crs)
    compound = (
        metric[compound_field].astype("string")
        if compound_field
        else pd.Series(pd.NA, index=metric.index)
    )
    if compound_field and compound_field not in layer.columns:
        raise ImportRejected([Issue(label, None, compound_field, "no such field")])
    buildings = gpd.GeoDataFrame(
        {"households": households.to_numpy(), "compound_id": compound.to_numpy()},
        geometry=metric.geometry.to_numpy(),
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
    division = divide(boundary, buildings, None, _barriers(barriers_path, crs), band, seed)
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
    out["grid_code"] = grid_of.reindex(range(len(out))).to_numpy()
    return DividedLayer(grids, out, source_crs)


def write_layers(result: DividedLayer, out: Path) -> None:
    """Write layers ``grids`` and ``buildings`` to a GeoPackage (replacing the file)."""
    out.unlink(missing_ok=True)
    pyogrio.write_dataframe(result.grids, out, layer="grids", driver="GPKG")
    pyogrio.write_dataframe(result.buildings, out, layer="buildings", driver="GPKG", append=True)
