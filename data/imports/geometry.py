"""The geometries of a layer checked before anything uses them: missing ones and kinds that
are not accepted are named feature by feature; self-intersecting polygons are repaired with
``make_valid`` (keeping the polygonal part) and a note says which."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from data.imports.report import Issue, issues_at

#: shapely type id → kind; multi-parts count as their kind.
KIND_OF_TYPE = {0: "point", 4: "point", 1: "line", 5: "line", 3: "polygon", 6: "polygon"}
KIND_NAMES = {"point": "点", "line": "线", "polygon": "面", None: "几何集合"}
#: GEOS's reasons for invalidity, in Chinese (the coordinates after them are kept).
REASONS = {
    "Self-intersection": "自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points in geometry component": "顶点太少",
    "Hole lies outside shell": "内环在外环之外",
    "Nested holes": "内环嵌套",
    "Interior is disconnected": "内部不连通",
    "Ring is not closed": "环未闭合",
    "Invalid Coordinate": "坐标无效",
    "Nested shells": "外环嵌套",
    "Duplicate Rings": "环重复",
}


def _reason(geom: shapely.Geometry) -> str:
    """Why GEOS finds ``geom`` invalid, in Chinese, with where (e.g. 自相交 (x y))."""
    text = shapely.is_valid_reason(geom)
    name, _, where = text.partition("[")
    where = f"，位于 ({where.rstrip(']')})" if where else ""
    return REASONS.get(name.strip(), name.strip()) + where


def checked_geometries(
    gdf: gpd.GeoDataFrame, allowed: set[str]
) -> tuple[gpd.GeoDataFrame, list[Issue], list[str]]:
    """``gdf`` with invalid polygons repaired, the issues, and a note per repaired feature.

    A single point stored as a multipoint becomes a point; several points in one feature,
    lines where only ``allowed`` kinds are taken, and geometry collections are issues.
    """
    geoms = np.array(gdf.geometry.to_numpy(), dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    issues = issues_at(gdf, missing, "geometry", "no_geometry", "没有几何图形")
    types = shapely.get_type_id(geoms)
    single_point = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    geoms[single_point] = shapely.get_geometry(geoms[single_point], 0)
    kinds = np.array([KIND_OF_TYPE.get(int(t)) for t in shapely.get_type_id(geoms)], dtype=object)
    several_points = (types == 4) & ~single_point & ~missing
    issues += issues_at(gdf, several_points, "geometry", "geometry_type", "一个要素含多个点")
    refused = ~missing & ~several_points & ~np.isin(kinds, list(allowed))
    issues += issues_at(
        gdf,
        refused,
        "geometry",
        "geometry_type",
        lambda i: (
            f"不接受{KIND_NAMES[kinds[i]]}要素（只接受"
            + "、".join(KIND_NAMES[k] for k in sorted(allowed))
            + "）"
        ),
    )
    invalid = ~missing & (kinds == "polygon") & ~shapely.is_valid(geoms)
    reasons = {int(i): _reason(geoms[i]) for i in np.flatnonzero(invalid)}
    repaired = _polygonal(shapely.make_valid(geoms[invalid]))
    geoms[invalid] = repaired
    lost = np.zeros(len(geoms), dtype=bool)
    lost[np.flatnonzero(invalid)] = shapely.is_empty(repaired)
    issues += issues_at(
        gdf, lost, "geometry", "invalid_geometry", lambda i: f"几何无效且无法修复（{reasons[i]}）"
    )
    files, rows = gdf["_file"].to_numpy(), gdf["_row"].to_numpy()
    notes = [
        f"{files[i]} 第 {rows[i]} 个要素：几何无效（{reasons[int(i)]}），已自动修复"
        for i in np.flatnonzero(invalid & ~lost)
    ]
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)), issues, notes


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygons of each repaired geometry (make_valid may add lines or points)."""
    out = np.empty(len(geoms), dtype=object)
    for k, geom in enumerate(geoms):
        parts = shapely.get_parts(geom)
        polygons = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
        out[k] = shapely.union_all(polygons) if polygons else shapely.Polygon()
    return out
