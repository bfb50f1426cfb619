"""divide(): every atom once, compounds whole, grids in band and tiling; where the rules cannot
all be kept, the plan of least violation with every exception named (or, strict, the reason)."""

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from geo.check import check_plan
from geo.divide import divide
from geo.errors import InvalidInput, NoValidDivision
from tests.engine.synthetic import synthetic_community

BAND = (300, 500)


def divided(seed: int, river: bool = True):
    c = synthetic_community(seed, blocks=(4, 3), households=2400, river=river)
    return c, divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)


def assert_passes_or_names_exceptions(c, buildings, units, division) -> None:
    """The plan passes the rule check, except the band of grids its exceptions name and the
    compounds they say are split."""
    report = check_plan(c.boundary, buildings, units, division.assignment, division.grids)
    failed = {(f.rule, f.grid) for f in report.findings if not f.ok}
    named = {
        (flag.rule, flag.grid if flag.rule == "band" else None) for flag in division.exceptions
    }
    assert failed == named, report.to_text_zh()
    for flag in division.exceptions:
        assert flag.message.startswith(f"网格 {flag.grid}") and "户" in flag.message
    assert list(division.grids.index) == list(range(1, len(division.grids) + 1))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), river=st.booleans())
def test_division_passes_the_rule_check_or_names_its_exceptions(seed, river):
    c, division = divided(seed, river)
    assert_passes_or_names_exceptions(c, c.buildings, c.units, division)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    households=st.integers(120, 2600),
    tower=st.integers(0, 900),
)
def test_every_input_gets_a_plan(seed, households, tower):
    """Any total (under the floor, in a gap between whole grids) and a tower of any size
    without unit data: a plan, each rule it breaks named; strict refuses with a reason."""
    c = synthetic_community(seed, blocks=(3, 2), households=households, river=seed % 2 == 0)
    buildings = c.buildings.copy()
    tall = buildings["households"].idxmax()
    buildings.at[tall, "households"] = max(tower, int(buildings.at[tall, "households"]))
    units = c.units[c.units["building_id"] != tall]
    division = divide(c.boundary, buildings, units, c.barriers, BAND, seed=seed)
    assert_passes_or_names_exceptions(c, buildings, units, division)
    if division.exceptions:
        with pytest.raises(NoValidDivision, match="户"):
            divide(c.boundary, buildings, units, c.barriers, BAND, seed=seed, strict=True)


def test_every_building_once_and_compounds_whole():
    c, division = divided(2)
    a = division.assignment
    assert sorted(a.loc[a["unit_id"].isna(), "building_id"]) == sorted(c.buildings.index)
    grids = a.merge(c.buildings[["compound_id"]], left_on="building_id", right_index=True)
    per_compound = grids.dropna(subset=["compound_id"]).groupby("compound_id")["grid"].nunique()
    totals = c.buildings.groupby("compound_id")["households"].sum()
    assert (per_compound[totals.loc[per_compound.index] <= BAND[1]] == 1).all()


def test_same_seed_same_plan():
    _, first = divided(7)
    _, second = divided(7)
    pd.testing.assert_frame_equal(first.assignment, second.assignment)
    assert first.grids.geometry.geom_equals(second.grids.geometry).all()


def test_tower_over_the_ceiling_splits_by_unit():
    c = synthetic_community(4, blocks=(2, 2), households=1400, river=False)
    tower = c.buildings["households"].idxmax()
    buildings = c.buildings.copy()
    extra = 700 - buildings.at[tower, "households"]
    buildings.at[tower, "households"] = 700
    units = c.units.copy()
    units = units[units["building_id"] != tower]
    units = pd.concat(
        [units, pd.DataFrame({"building_id": tower, "unit_id": list("abcdefg"), "households": 100})]
    )
    assert extra > 0
    division = divide(c.boundary, buildings, units, c.barriers, BAND)
    rows = division.assignment[division.assignment["building_id"] == tower]
    assert sorted(rows["unit_id"]) == list("abcdefg")
    report = check_plan(c.boundary, buildings, units, division.assignment, division.grids)
    assert not [
        f for f in report.findings if f.rule in {"band", "building", "assigned"} and not f.ok
    ]


def test_compound_enclosed_by_river_is_explained():
    community = box(0, 0, 600, 400)
    river = gpd.GeoDataFrame({"kind": ["river"]}, geometry=[box(150, -5, 170, 405)], crs=4545)
    spots = [(50, 100), (50, 300), (300, 100), (300, 300), (450, 100), (450, 300)]
    buildings = gpd.GeoDataFrame(
        {
            "households": [130, 130, 250, 250, 250, 250],
            "compound_id": ["X", "X", None, None, None, None],
        },
        geometry=[box(x - 10, y - 6, x + 10, y + 6) for x, y in spots],
        index=[f"B{i}" for i in range(6)],
        crs=4545,
    )
    with pytest.raises(NoValidDivision, match="小区 X（260 户）被河流和社区边界围合"):
        divide(community, buildings, None, river, BAND, strict=True)
    division = divide(community, buildings, None, river, BAND)
    (flag,) = division.exceptions
    assert flag.households == 260
    assert "不足下限 40 户：小区 X（260 户）被河流和社区边界围合" in flag.message
    assert division.grids["households"].sum() == 1260


def test_tower_without_units_is_its_own_flagged_grid():
    c = synthetic_community(5, blocks=(3, 2), households=2000, river=False)
    buildings = c.buildings.copy()
    tower = buildings["households"].idxmax()
    buildings.at[tower, "households"] = 502
    units = c.units[c.units["building_id"] != tower]
    with pytest.raises(NoValidDivision, match=f"楼栋 {tower}（502 户）超过每格 500 户的上限"):
        divide(c.boundary, buildings, units, c.barriers, BAND, strict=True)
    division = divide(c.boundary, buildings, units, c.barriers, BAND)
    (flag,) = division.exceptions
    expected = f"网格 {flag.grid}：楼栋 {tower}（502 户）无单元数据，单独成格，超上限 2 户"
    assert flag.message == expected
    assert division.assignment.set_index("building_id")["grid"].value_counts()[flag.grid] == 1
    report = check_plan(c.boundary, buildings, units, division.assignment, division.grids)
    assert "无单元数据，单独成格" in report.to_text_zh()


def test_roads_without_bridge_over_river_still_divide():
    community = box(0, 0, 600, 400)
    barriers = gpd.GeoDataFrame(
        {"kind": ["road", "river"]},
        geometry=[LineString([(300, -5), (300, 405)]), box(150, -5, 170, 405)],
        crs=4545,
    )
    spots = [(50, 100), (50, 300), (250, 100), (250, 300), (450, 100), (450, 300)]
    buildings = gpd.GeoDataFrame(
        {"households": [200, 200, 200, 200, 200, 200]},
        geometry=[box(x - 10, y - 6, x + 10, y + 6) for x, y in spots],
        index=[f"B{i}" for i in range(6)],
        crs=4545,
    )
    division = divide(community, buildings, None, barriers, BAND)
    assert division.grids["households"].between(*BAND).all()
    west = division.assignment.set_index("building_id")["grid"]
    assert west["B0"] == west["B1"] != west["B2"]


def test_building_outside_the_community_is_named():
    c = synthetic_community(3, blocks=(3, 2), households=1500)
    buildings = c.buildings.copy()
    stray = buildings.index[4]
    buildings.loc[[stray], "geometry"] = buildings.loc[[stray]].translate(5_000)
    with pytest.raises(InvalidInput, match=f"楼栋 \\['{stray}'\\] 不在社区边界内"):
        divide(c.boundary, buildings, c.units, c.barriers, BAND)
