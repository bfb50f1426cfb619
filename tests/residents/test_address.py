"""Parsing residents' addresses and points (pure, no database)."""

from __future__ import annotations

import pytest

from geo.address import AddressError, parse_address
from geo.offsets import convert
from geo.points import PointError, check_lonlat, from_datum


@pytest.mark.parametrize(
    ("text", "place", "door", "building", "unit"),
    [
        ("锦江花园３栋２单元", "锦江花园", None, 3, 2),
        ("锦江花园 3-2", "锦江花园", 3, None, 2),
        ("碧江路12号", "碧江路", 12, None, None),
        ("碧江路 12", "碧江路", 12, None, None),
        ("碧江路十二号", "碧江路", 12, None, None),
        ("铜仁市碧江区锦江花园3幢", "铜仁市碧江区锦江花园", None, 3, None),
        ("锦江花园", "锦江花园", None, None, None),
    ],
)
def test_parse_address(text, place, door, building, unit):
    q = parse_address(text)
    assert (q.place, q.door, q.building, q.unit) == (place, door, building, unit)


@pytest.mark.parametrize("text", ["", "   ", "12号", "x" * 10_000])
def test_parse_address_refuses(text):
    with pytest.raises(AddressError):
        parse_address(text)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(27.72, 109.19), (200.0, 27.7), (109.19, 95.0), (float("nan"), 27.7)],
)
def test_bad_points(lon, lat):
    with pytest.raises(PointError):
        check_lonlat(lon, lat)


def test_gcj02_point_comes_back_to_storage():
    gx, gy = convert(109.19, 27.72, "wgs84", "gcj02")
    assert abs(float(gx) - 109.19) > 0.003  # the offset is hundreds of metres here
    x, y = from_datum(float(gx), float(gy), "gcj02")
    assert abs(x - 109.19) < 1e-7 and abs(y - 27.72) < 1e-7
