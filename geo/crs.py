"""Coordinate reference systems Wangge stores in and measures in.

Storage is CGCS2000 geographic (EPSG:4490). Areas and distances are computed in the data's own
local projected CRS (``local_crs_for``): in China the CGCS2000 3-degree Gauss–Krüger zone that
holds the data, EPSG:4534 (central meridian 75°E) to EPSG:4554 (135°E), without the zone number
in the easting; anywhere else the WGS 84 UTM zone that holds it (EPSG:326xx north, 327xx south).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS

STORAGE_CRS = CRS.from_epsg(4490)
GK_FIRST_EPSG = 4534
GK_LAST_EPSG = 4554
GK_FIRST_MERIDIAN = 75
GK_LAST_MERIDIAN = 135
#: Bounding box of China (longitude, latitude), where the GK zones are the local CRS.
CHINA_LON = (73.5, 135.1)
CHINA_LAT = (3.8, 53.6)


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


def in_china(lon: float, lat: float) -> bool:
    """Whether a point lies in the bounding box of China's territory (where GK zones apply)."""
    return CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding (``lon``, ``lat``)."""
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def local_epsg(lon: float, lat: float) -> int:
    """The local projected CRS for metric work at (``lon``, ``lat``): GK in China, else UTM."""
    return gk_zone_epsg(lon) if in_china(lon, lat) else utm_epsg(lon, lat)


def local_crs_for(gdf: gpd.GeoDataFrame) -> CRS:
    """The local projected CRS of a GeoDataFrame, chosen from the centre of its bounds."""
    if gdf.crs is None:
        raise CRSError("数据没有声明坐标系")
    bounds = gdf.to_crs(STORAGE_CRS).total_bounds
    if not np.isfinite(bounds).all():
        raise CRSError("数据没有可用的坐标")
    lon, lat = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CRSError(f"坐标 ({lon:.4f}, {lat:.4f}) 超出经纬度范围，请检查数据声明的坐标系")
    return CRS.from_epsg(local_epsg(float(lon), float(lat)))


def require_projected(gdf: gpd.GeoDataFrame, what: str) -> None:
    """Refuse geographic or undeclared coordinates where metres are needed."""
    if gdf.crs is None:
        raise CRSError(f"{what}: 数据没有声明坐标系")
    if not gdf.crs.is_projected:
        raise CRSError(f"{what}: 需要投影坐标系 (米), 收到 {gdf.crs.to_string()}")
