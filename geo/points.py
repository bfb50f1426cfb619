"""Checking a point a client sends and bringing it to the stored datum.

Pure functions: no database, no web. Stored data is CGCS2000 (EPSG:4490), which for this purpose
is WGS84; phones in China mostly report GCJ-02, Baidu BD-09 (converted with :mod:`geo.offsets`).
"""

from __future__ import annotations

import math
from typing import Any

from geo.offsets import CHINA_BOUNDS, Datum, convert, transform_geometry

__all__ = ["Datum", "PointError", "check_lonlat", "from_datum", "to_datum_geojson"]


class PointError(ValueError):
    """Coordinates that cannot be a place (out of range, not numbers, or lat/lon swapped)."""


def _in_china(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = CHINA_BOUNDS
    return x0 <= lon <= x1 and y0 <= lat <= y1


def check_lonlat(lon: float, lat: float) -> None:
    """Raise :class:`PointError` unless (lon, lat) is a real longitude/latitude pair.

    A pair that is outside China but inside it when swapped is refused as swapped: residents'
    apps sometimes send latitude first.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise PointError("坐标必须是有限数值")
    if not -90.0 <= lat <= 90.0:
        if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0:
            raise PointError(f"纬度 {lat} 超出范围，经纬度可能颠倒")
        raise PointError(f"纬度 {lat} 超出 -90–90")
    if not -180.0 <= lon <= 180.0:
        raise PointError(f"经度 {lon} 超出 -180–180")
    if not _in_china(lon, lat) and _in_china(lat, lon):
        raise PointError(
            f"({lon}, {lat}) 不在中国境内，颠倒后在：经纬度可能颠倒 "
            "(lon and lat look swapped: send lon=经度, lat=纬度)"
        )


def from_datum(lon: float, lat: float, datum: Datum | str) -> tuple[float, float]:
    """(lon, lat) in ``datum`` → stored coordinates (EPSG:4490 ≈ WGS84), after checking it."""
    check_lonlat(lon, lat)
    datum = Datum(datum)
    if datum is Datum.wgs84:
        return lon, lat
    x, y = convert(lon, lat, datum, Datum.wgs84)
    return float(x), float(y)


def to_datum_geojson(geometry: dict[str, Any], datum: Datum | str) -> dict[str, Any]:
    """A GeoJSON geometry in stored coordinates converted to ``datum`` (for GCJ-02 basemaps)."""
    import shapely

    datum = Datum(datum)
    if datum is Datum.wgs84:
        return geometry
    shape = transform_geometry(shapely.geometry.shape(geometry), Datum.wgs84, datum)
    converted: dict[str, Any] = shapely.geometry.mapping(shape)
    return converted
