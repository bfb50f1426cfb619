"""China's map offsets: WGS84 ↔ GCJ-02 ↔ BD-09, vectorised.

GCJ-02 ("Mars coordinates") is the obfuscated datum that AMap (高德), Tencent maps and most phones
in China use; BD-09 is Baidu's further offset of GCJ-02. Stored data in Wangge is never offset
(CGCS2000, EPSG:4490, which differs from WGS84 by far less than a metre, so both count as
``"wgs84"`` here): convert only at the edges — when reading a GCJ-02 file, when drawing on an
AMap/Tencent/Baidu basemap, when a phone reports its position.

Accuracy
--------
* WGS84 → GCJ-02 is the published forward formula (Krasovsky ellipsoid constants,
  ``a = 6378245``, ``ee = 0.00669342162296594323``). It reproduces AMap's own conversion to the
  order of a metre; the widely quoted reference point WGS84 (116.397128, 39.916527) maps to
  GCJ-02 (116.403372, 39.917931), about 555 m away; around Tongren (109.19°E, 27.72°N)
  the offset is about 580 m.
* GCJ-02 → WGS84 has no closed form; it is solved by fixed-point iteration
  ``w ← w − (f(w) − g)`` until the round trip differs from the input by less than ``tolerance``
  degrees (default 1e-9°, about 0.1 mm; at most ``max_iter`` steps). The offset changes slowly,
  so 3–5 steps suffice.
* GCJ-02 ↔ BD-09 uses Baidu's published forward formula; the inverse starts from the usual
  approximate formula (error about 1e-6°, 10 cm) and is refined by the same iteration.
* Points outside the rough China rectangle (72.004–137.8347°E, 0.8293–55.8271°N) are returned
  unchanged, as AMap does. The rectangle also covers some neighbouring countries; that is the
  convention, not a border.

All functions take and return longitude first (x = lon), as numpy arrays or scalars.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

#: Semi-major axis of the Krasovsky 1940 ellipsoid, which the GCJ-02 formula uses.
KRASOVSKY_A = 6378245.0
#: Its first eccentricity squared.
KRASOVSKY_EE = 0.00669342162296594323
#: Baidu's angular constant.
X_PI = np.pi * 3000.0 / 180.0
#: Rough bounding rectangle inside which the offsets apply (lon_min, lat_min, lon_max, lat_max).
CHINA_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)

DEFAULT_TOLERANCE = 1e-9
DEFAULT_MAX_ITER = 30

Array = NDArray[np.float64]


class Datum(enum.StrEnum):
    """Coordinate conventions of web maps in China."""

    wgs84 = "wgs84"  # also CGCS2000 (EPSG:4490), Tianditu, GPS
    gcj02 = "gcj02"  # AMap, Tencent, most phones
    bd09 = "bd09"  # Baidu


class OffsetError(ValueError):
    """An inverse conversion that did not converge (input far outside the valid range)."""


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x.astype(float, copy=True), y.astype(float, copy=True)


def _result(x: Array, y: Array, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie in the rectangle where the GCJ-02 offset applies."""
    x, y = _arrays(lon, lat)
    x0, y0, x1, y1 = CHINA_BOUNDS
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _gcj_delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 minus WGS84 in degrees at the WGS84 point, the standard formula."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (KRASOVSKY_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """WGS84 (or CGCS2000) → GCJ-02. Points outside China are returned unchanged."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    dlon, dlat = _gcj_delta(x[inside], y[inside])
    x[inside] += dlon
    y[inside] += dlat
    return _result(x, y, scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """GCJ-02 → BD-09 (Baidu). Points outside China are returned unchanged."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    bx, by = _bd_forward(x[inside], y[inside])
    x[inside] = bx
    y[inside] = by
    return _result(x, y, scalar)


def _bd_forward(x: Array, y: Array) -> tuple[Array, Array]:
    z = np.hypot(x, y) + 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_approx_inverse(x: Array, y: Array) -> tuple[Array, Array]:
    x = x - 0.0065
    y = y - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[Array, Array], tuple[Array, Array]],
    x: Array,
    y: Array,
    start: tuple[Array, Array],
    tolerance: float,
    max_iter: int,
) -> tuple[Array, Array]:
    """Solve ``forward(w) = (x, y)`` for ``w`` by fixed-point iteration from ``start``."""
    wx, wy = start[0].copy(), start[1].copy()
    for _ in range(max_iter):
        fx, fy = forward(wx, wy)
        ex, ey = fx - x, fy - y
        wx -= ex
        wy -= ey
        if x.size == 0 or max(np.abs(ex).max(), np.abs(ey).max()) < tolerance:
            return wx, wy
    raise OffsetError(f"坐标反算未收敛（容差 {tolerance}°，{max_iter} 次迭代）")


def gcj02_to_wgs84(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iter: int = DEFAULT_MAX_ITER,
) -> tuple[Any, Any]:
    """GCJ-02 → WGS84 by fixed-point iteration to ``tolerance`` degrees (default 1e-9°).

    Points outside China are returned unchanged.
    """
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    gx, gy = x[inside], y[inside]

    def forward(wx: Array, wy: Array) -> tuple[Array, Array]:
        dlon, dlat = _gcj_delta(wx, wy)
        return wx + dlon, wy + dlat

    wx, wy = _invert(forward, gx, gy, (gx, gy), tolerance, max_iter)
    x[inside] = wx
    y[inside] = wy
    return _result(x, y, scalar)


def bd09_to_gcj02(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iter: int = DEFAULT_MAX_ITER,
) -> tuple[Any, Any]:
    """BD-09 → GCJ-02: Baidu's approximate inverse, refined to ``tolerance`` degrees."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = _arrays(lon, lat)
    inside = in_china(x, y)
    bx, by = x[inside], y[inside]
    gx, gy = _invert(_bd_forward, bx, by, _bd_approx_inverse(bx, by), tolerance, max_iter)
    x[inside] = gx
    y[inside] = gy
    return _result(x, y, scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """WGS84 → BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iter: int = DEFAULT_MAX_ITER,
) -> tuple[Any, Any]:
    """BD-09 → WGS84 (via GCJ-02), each inverse step to ``tolerance`` degrees."""
    g = bd09_to_gcj02(lon, lat, tolerance=tolerance, max_iter=max_iter)
    return gcj02_to_wgs84(*g, tolerance=tolerance, max_iter=max_iter)


_STEPS: dict[tuple[Datum, Datum], Callable[..., tuple[Any, Any]]] = {
    (Datum.wgs84, Datum.gcj02): wgs84_to_gcj02,
    (Datum.gcj02, Datum.wgs84): gcj02_to_wgs84,
    (Datum.gcj02, Datum.bd09): gcj02_to_bd09,
    (Datum.bd09, Datum.gcj02): bd09_to_gcj02,
    (Datum.wgs84, Datum.bd09): wgs84_to_bd09,
    (Datum.bd09, Datum.wgs84): bd09_to_wgs84,
}


def convert(lon: ArrayLike, lat: ArrayLike, src: Datum | str, dst: Datum | str) -> tuple[Any, Any]:
    """Convert lon/lat from one datum to another (``"wgs84"``, ``"gcj02"``, ``"bd09"``).

    Raises
    ------
    ValueError
        If a datum name is unknown.
    """
    src, dst = Datum(src), Datum(dst)
    if src == dst:
        scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
        return _result(*_arrays(lon, lat), scalar)
    return _STEPS[(src, dst)](lon, lat)


def transform_geometry(geometry: Any, src: Datum | str, dst: Datum | str) -> Any:
    """Convert a shapely geometry (or an array of them) between datums, vertex by vertex.

    Parameters
    ----------
    geometry
        Shapely geometry or array-like of geometries, in geographic lon/lat (x = lon).
    src, dst
        Datums: ``"wgs84"`` (also CGCS2000), ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    Geometry of the same shape and type; Z values, where present, are kept unchanged.
    """
    src, dst = Datum(src), Datum(dst)

    def step(coords: Array) -> Array:
        out = coords.copy()
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1], src, dst)
        return out

    return shapely.transform(geometry, step, include_z=None)
