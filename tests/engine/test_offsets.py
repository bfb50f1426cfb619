"""WGS84 ↔ GCJ-02 ↔ BD-09 conversions: reference point, round trips, outside China."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from geo import offsets
from geo.offsets import (
    Datum,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Tiananmen: the reference pair quoted by every implementation of the standard algorithm.
WGS = (116.397128, 39.916527)
GCJ = (116.403372, 39.917931)


def _grid(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.uniform(73.5, 135.0, n), rng.uniform(18.0, 53.5, n)


def test_reference_point_forward():
    lon, lat = wgs84_to_gcj02(*WGS)
    assert lon == pytest.approx(GCJ[0], abs=1e-6)
    assert lat == pytest.approx(GCJ[1], abs=1e-6)


def test_reference_point_inverse():
    lon, lat = gcj02_to_wgs84(*GCJ)
    assert lon == pytest.approx(WGS[0], abs=2e-6)
    assert lat == pytest.approx(WGS[1], abs=2e-6)


def test_scalars_in_scalars_out():
    lon, lat = wgs84_to_gcj02(*WGS)
    assert isinstance(lon, float) and isinstance(lat, float)


def test_tongren_offset_is_a_few_hundred_metres():
    lon, lat = wgs84_to_gcj02(109.19, 27.72)
    dx = (lon - 109.19) * 111_320 * np.cos(np.radians(27.72))
    dy = (lat - 27.72) * 110_574
    assert 450 < np.hypot(dx, dy) < 700


def test_gcj_round_trip_below_1e7_degrees():
    lon, lat = _grid()
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7
    assert np.abs(back[1] - lat).max() < 1e-7


def test_inverse_really_inverts_the_offset():
    lon, lat = _grid()
    g = wgs84_to_gcj02(lon, lat)
    assert np.abs(g[0] - lon).max() > 1e-3  # the offset is not a no-op
    w = gcj02_to_wgs84(*g)
    again = wgs84_to_gcj02(*w)
    assert np.abs(again[0] - g[0]).max() < 1e-9
    assert np.abs(again[1] - g[1]).max() < 1e-9


def test_bd_round_trip():
    lon, lat = _grid()
    b = gcj02_to_bd09(lon, lat)
    assert np.abs(b[0] - lon).max() > 5e-3
    g = bd09_to_gcj02(*b)
    assert np.abs(g[0] - lon).max() < 1e-8
    assert np.abs(g[1] - lat).max() < 1e-8


def test_wgs_bd_round_trip_and_known_offset():
    lon, lat = wgs84_to_bd09(*WGS)
    # Baidu adds about 0.0065° east and 0.006° north to GCJ-02.
    assert lon - GCJ[0] == pytest.approx(0.0064, abs=0.0005)
    assert lat - GCJ[1] == pytest.approx(0.0063, abs=0.0005)
    back = bd09_to_wgs84(lon, lat)
    assert back[0] == pytest.approx(WGS[0], abs=1e-7)
    assert back[1] == pytest.approx(WGS[1], abs=1e-7)


def test_outside_china_unchanged():
    lon = np.array([2.3522, -74.006, 151.2093, 139.6917])
    lat = np.array([48.8566, 40.7128, -33.8688, 57.0])
    assert not in_china(lon, lat).any()
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        x, y = fn(lon, lat)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)


def test_mixed_inside_and_outside():
    x, y = wgs84_to_gcj02([2.3522, 109.19], [48.8566, 27.72])
    assert x[0] == 2.3522 and y[0] == 48.8566
    assert x[1] != 109.19


def test_inputs_not_modified():
    lon, lat = _grid(5)
    keep = lon.copy()
    wgs84_to_gcj02(lon, lat)
    gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, keep)


def test_convert_identity_and_names():
    assert convert(1.0, 2.0, "wgs84", Datum.wgs84) == (1.0, 2.0)
    assert convert(*WGS, "wgs84", "gcj02") == wgs84_to_gcj02(*WGS)
    with pytest.raises(ValueError):
        convert(*WGS, "wgs84", "mars")


def test_transform_geometry_polygon_and_array():
    poly = Polygon([(109.18, 27.71), (109.20, 27.71), (109.20, 27.73), (109.18, 27.73)])
    g = transform_geometry(poly, "wgs84", "gcj02")
    assert g.geom_type == "Polygon"
    x, y = wgs84_to_gcj02(109.18, 27.71)
    assert g.exterior.coords[0] == pytest.approx((x, y))
    back = transform_geometry(g, "gcj02", "wgs84")
    assert shapely.hausdorff_distance(back, poly) < 1e-8
    many = transform_geometry(np.array([Point(*WGS), LineString([WGS, GCJ])]), "wgs84", "gcj02")
    assert many[0].x == pytest.approx(GCJ[0], abs=1e-6)


def test_transform_geometry_keeps_z():
    g = transform_geometry(Point(109.19, 27.72, 350.0), "wgs84", "bd09")
    assert g.has_z and g.z == 350.0


def test_non_convergence_is_reported():
    with pytest.raises(offsets.OffsetError):
        gcj02_to_wgs84(109.19, 27.72, max_iter=1, tolerance=1e-15)
