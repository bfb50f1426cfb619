"""Geometry steps of the sample generator: metres (EPSG:4545, the CGCS2000 Gauss–Krüger zone
108°E) while building, the storage CRS (EPSG:4490) once at the end."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

METRIC_CRS = "EPSG:4545"
STORAGE_CRS = "EPSG:4490"


def to_metric() -> Transformer:
    return Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)


def project(geoms, transformer: Transformer):
    def step(c: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, step)


def multi(g: BaseGeometry) -> MultiPolygon:
    """The polygons of ``g`` (of a collection too) as one MultiPolygon."""
    parts = []
    for part in shapely.get_parts(g):
        parts += [p for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
    return MultiPolygon(parts)


def frame(data: dict, geoms, crs=METRIC_CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(list(geoms), crs=crs)).rename_geometry(
        "geom"
    )


def store(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """To the storage CRS, once.

    Reprojection can make a valid polygon with nearly touching vertices self-intersect by a
    hair; such MultiPolygons are repaired with ``make_valid`` (polygonal parts kept).
    """
    out = gdf.to_crs(STORAGE_CRS)
    geoms = out.geometry.values.to_numpy()
    bad = ~shapely.is_valid(geoms) & (shapely.get_type_id(geoms) == 6)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = [multi(shapely.make_valid(g)) for g in geoms[bad]]
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out
