"""Coordinate reference systems Wangge stores in and measures in.

Storage is CGCS2000 geographic (EPSG:4490). Areas and distances are computed in the CGCS2000
3-degree Gauss–Krüger zone that holds the data: EPSG:4534 (central meridian 75°E) to EPSG:4554
(135°E), without the zone number in the easting.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

STORAGE_CRS = CRS.from_epsg(4490)
GK_FIRST_EPSG = 4534
GK_LAST_EPSG = 4554
GK_FIRST_MERIDIAN = 75
GK_LAST_MERIDIAN = 135


class CRSError(ValueError):
    """A coordinate system that Wangge cannot use for the job at hand."""


def gk_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss–Krüger zone (no zone prefix) holding ``lon``.

    Tongren (about 109.2°E) lies in the zone of central meridian 108°E: EPSG:4545.
    """
    meridian = 3 * round(lon / 3)
    if not GK_FIRST_MERIDIAN <= meridian <= GK_LAST_MERIDIAN:
        raise CRSError(
            f"经度 {lon:.4f} 不在中国 CGCS2000 高斯–克吕格 3 度带范围内 (73.5°E–136.5°E)"
        )
    return GK_FIRST_EPSG + (meridian - GK_FIRST_MERIDIAN) // 3


def gk_crs_for(gdf: gpd.GeoDataFrame) -> CRS:
    """The Gauss–Krüger zone CRS for a GeoDataFrame, chosen from the centre of its bounds."""
    if gdf.crs is None:
        raise CRSError("数据没有声明坐标系")
    lon = gdf.to_crs(STORAGE_CRS).total_bounds[[0, 2]].mean()
    return CRS.from_epsg(gk_zone_epsg(float(lon)))


def require_projected(gdf: gpd.GeoDataFrame, what: str) -> None:
    """Refuse geographic or undeclared coordinates where metres are needed."""
    if gdf.crs is None:
        raise CRSError(f"{what}: 数据没有声明坐标系")
    if not gdf.crs.is_projected:
        raise CRSError(f"{what}: 需要投影坐标系 (米), 收到 {gdf.crs.to_string()}")
