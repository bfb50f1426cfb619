"""Where imported features lie: the communities an import may touch, and each feature's
community found from its geometry, with the usual coordinate mistakes named."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from data.imports.report import Issue, issues_at, refuse
from geo import offsets

CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


def area_communities(conn: Connection, area: str | None, label: str) -> gpd.GeoDataFrame:
    """The communities (code, geometry) an import into ``area`` may touch: the community,
    the street office's or the district's communities; every community when ``area`` is None.
    An area with no community refuses the import."""
    if area is not None and not re.fullmatch(r"\d{6}|\d{9}|\d{12}", area):
        refuse(label, "no_community", f"区域代码 {area!r} 应为 6、9 或 12 位数字")
    rows = conn.execute(
        text(
            "SELECT c.code, ST_AsBinary(c.geom) FROM community c "
            "JOIN street_office s ON s.code = c.street_code "
            "WHERE CAST(:a AS text) IS NULL OR :a IN (c.code, c.street_code, s.district_code)"
        ),
        {"a": area},
    ).fetchall()
    if not rows:
        refuse(label, "no_community", f"没有代码为 {area} 的社区、街道或区")
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows]},
        geometry=shapely.from_wkb([bytes(r[1]) for r in rows]),
        crs=4490,
    )


def locate(
    gdf: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, source_crs: str
) -> tuple[np.ndarray, list[Issue]]:
    """Community code of each feature's representative point, or issues saying why not.

    Features off the area are tested for the usual mistakes: longitude and latitude swapped,
    and GCJ-02 coordinates read as plain WGS 84 (about 500–600 m off in China).
    """
    pts = shapely.point_on_surface(gdf.geometry.to_numpy())
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    tree = shapely.STRtree(areas.geometry.to_numpy())
    hit_pt, hit_area = tree.query(pts, predicate="within")
    codes = np.full(len(pts), None, dtype=object)
    codes[hit_pt] = areas["code"].to_numpy()[hit_area]
    outside = pd.isna(codes)
    gx, gy = offsets.gcj02_to_wgs84(x, y)
    gcj_hit = np.zeros(len(pts), dtype=bool)
    gcj_hit[np.unique(tree.query(shapely.points(gx, gy), predicate="within")[0])] = True
    swapped = (CHINA_LON[0] <= y) & (y <= CHINA_LON[1]) & (CHINA_LAT[0] <= x) & (x <= CHINA_LAT[1])
    issues = issues_at(
        gdf,
        outside & swapped,
        "geometry",
        "swapped_axes",
        lambda i: f"经度和纬度似乎颠倒了（{x[i]:.6f}, {y[i]:.6f}）",
    )
    issues += issues_at(
        gdf,
        outside & ~swapped & gcj_hit,
        "geometry",
        "gcj02_offset",
        lambda i: (
            f"坐标似乎是 GCJ-02（高德/腾讯，偏差约 {_metres(x[i], y[i], gx[i], gy[i]):.0f} 米），"
            "请声明 crs gcj02"
        ),
    )
    issues += issues_at(
        gdf,
        outside & ~swapped & ~gcj_hit,
        "geometry",
        "outside_area",
        lambda i: f"位于导入范围之外（{x[i]:.6f}, {y[i]:.6f}，按 {source_crs} 读取）",
    )
    return codes, issues


def _metres(x0: float, y0: float, x1: float, y1: float) -> float:
    dy = (y1 - y0) * 111_320.0
    dx = (x1 - x0) * 111_320.0 * np.cos(np.radians(y0))
    return float(np.hypot(dx, dy))
