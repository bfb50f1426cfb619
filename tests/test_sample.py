"""The sample district generator: determinism, realism ranges, referential integrity, codes.

Pure tests (no database). The whole district is marked ``slow``; how long building takes is
measured by ``bench/sample.py``, not asserted here.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from stdnum.cn import ric

from data.sample import SampleDistrict, generate, small_district

SEED = 20261124


@pytest.fixture(scope="module")
def small() -> SampleDistrict:
    return small_district(7)


@pytest.fixture(scope="module")
def full() -> SampleDistrict:
    return generate(SEED)


def _metric(frame):
    return frame.to_crs("EPSG:4545")


# --- the one-community fixture -------------------------------------------------------------


def test_small_fixture_is_sized():
    d = small_district(11)
    assert len(d.street_office) == 1 and len(d.community) == 1
    assert 3000 <= len(d.household) <= 4500
    assert len(d.grid) >= 5


def test_same_seed_same_output(small):
    again = small_district(7)
    for name, frame in small.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name], obj=name)


#: SHA-256 of the one-community fixture (seed 7) as the loader writes it: the sample for a
#: seed is pinned, so that faster generator code must build the very same data. (Changed on
#: 2026-12-03 by the new columns ``unit_entrance.created_at`` (from eeefb116…) and then
#: ``building.created_at`` (from 00dd2f7b…) only.)
SMALL_DIGEST = "8f7ebcf5c5d42e3d35d1cd218d6ae5a6bcdd5040411c3430777b48beaf24d1a8"


def test_the_fixture_is_the_data_it_always_was(small):
    from data.sample.load import COLUMNS, _csv

    digest = hashlib.sha256()
    for name, columns in COLUMNS.items():
        digest.update(_csv(getattr(small, name), columns))
    assert digest.hexdigest() == SMALL_DIGEST


def test_other_seed_other_output(small):
    other = small_district(8)
    assert not other.household["head_name"].equals(small.household["head_name"])
    assert not shapely.equals(other.building.geometry.iloc[0], small.building.geometry.iloc[0])


def test_tables_have_model_columns(small):
    from data.sample.load import COLUMNS

    for name, columns in COLUMNS.items():
        frame = getattr(small, name)
        assert set(columns) <= set(frame.columns), name


# --- checks shared by both sizes --------------------------------------------------------------


def _check_integrity(d: SampleDistrict) -> None:
    b, u, h = d.building, d.unit_entrance, d.household
    assert h["building_id"].isin(b["id"]).all()
    assert h["unit_id"].isin(u["id"]).all()
    unit_building = u.set_index("id")["building_id"]
    assert (h["unit_id"].map(unit_building) == h["building_id"]).all()
    assert b["compound_id"].dropna().isin(d.compound["id"]).all()
    assert b["community_code"].isin(d.community["code"]).all()
    assert d.household_care["household_id"].isin(h["id"]).all()
    assert d.liaison_household["household_id"].is_unique
    assert set(d.liaison_household["household_id"]) == set(h["id"])
    assert d.liaison_household["staff_id"].isin(d.staff["id"]).all()
    assert d.grid_staff["staff_id"].isin(d.staff["id"]).all()
    assert d.grid_staff["grid_id"].isin(d.grid["id"]).all()
    for name in ("compound", "building", "unit_entrance", "household", "grid", "staff"):
        ids = getattr(d, name)["id"]
        assert ids.is_unique and ids.min() == 1


def _check_codes(d: SampleDistrict) -> None:
    assert d.district["code"].tolist() == ["520602"]
    for code, street in zip(d.community["code"], d.community["street_code"], strict=True):
        assert re.fullmatch(r"520602\d{6}", code) and code[:9] == street
    assert d.street_office["code"].str.fullmatch(r"520602\d{3}").all()
    plans = d.grid_plan.set_index("id")
    assert (plans["status"] == "published").all() and (plans["version"] == 1).all()
    assert plans["community_code"].is_unique
    assert set(plans["community_code"]) == set(d.community["code"])
    for plan_id, grids in d.grid.groupby("plan_id"):
        community = plans.at[plan_id, "community_code"]
        assert (grids["code"].str[:12] == community).all()
        assert grids["code"].str.fullmatch(r"\d{15}").all()
        assert sorted(grids["number"]) == list(range(1, len(grids) + 1))
        assert (grids["code"].str[12:].astype(int) == grids["number"]).all()
        assert (grids["name"] == "第" + grids["number"].astype(str) + "网格").all()


def _check_people(d: SampleDistrict) -> None:
    h = d.household
    assert all(ric.is_valid(x) and x[:4] in ("5206", "5222") for x in h["id_number"])
    assert h["head_phone"].dropna().str.fullmatch(r"1[3-9]\d{9}").all()
    assert h["room"].str.fullmatch(r"\d{3,4}").all()
    assert (h["room"].str[:-2].astype(int) == h["floor"]).all()
    assert h["members"].between(1, 6).all()
    care = d.household_care.merge(h, left_on="household_id", right_on="id")
    assert 0.035 <= len(care) / len(h) <= 0.065
    assert (care.loc[care["elderly_alone"], "members"] == 1).all()
    assert (care.loc[care["left_behind_child"], "members"] >= 2).all()
    tags = care[["elderly_alone", "low_income", "disabled", "left_behind_child"]]
    assert tags.any(axis=1).all()


def _check_kinds(d: SampleDistrict) -> None:
    per_building = d.household.groupby("building_id").size()
    units = d.unit_entrance.groupby("building_id").size()
    b = d.building.set_index("id")
    ranges = {
        "tower": ((100, 600), (2, 6)),
        "midrise": ((20, 80), (1, 4)),
        "house": ((1, 6), (1, 1)),
    }
    for kind, ((lo, hi), (ulo, uhi)) in ranges.items():
        ids = b.index[b["kind"] == kind]
        if len(ids) == 0:
            continue
        assert per_building.reindex(ids, fill_value=0).between(lo, hi).all(), kind
        assert units.reindex(ids).between(ulo, uhi).all(), kind
    # Dwellings hold the households.
    per_unit = d.household.groupby("unit_id").size()
    dw = d.unit_entrance.set_index("id")["dwellings"]
    assert (per_unit <= dw.reindex(per_unit.index)).all()
    compounds = d.building.groupby("compound_id").size()
    assert compounds.between(1, 40).all()


def _check_geometry(d: SampleDistrict) -> None:
    b = _metric(d.building)
    community = _metric(d.community).set_index("code")
    geoms = b.geometry.values
    # Inside its community (1 cm tolerance for the round trip through EPSG:4490).
    host = community.geometry.loc[b["community_code"]].values
    assert shapely.covers(shapely.buffer(host, 0.01), geoms).all()
    # Buildings do not overlap each other.
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()
    # Nor the roads.
    roads = _metric(d.road).geometry.values
    assert not shapely.STRtree(roads).query(geoms, predicate="intersects").size
    # Each grid plan tiles its community.
    grids = _metric(d.grid)
    plans = d.grid_plan.set_index("id")["community_code"]
    for plan_id, part in grids.groupby("plan_id"):
        area = shapely.area(shapely.union_all(part.geometry.values))
        assert area == pytest.approx(community.geometry.loc[plans[plan_id]].area, rel=1e-6)
    # Buildings are in the grid the plan assigns them to.
    m = d.grid_member[d.grid_member["unit_id"].isna()]
    g = grids.set_index("id").geometry
    pts = shapely.point_on_surface(b.set_index("id").geometry.loc[m["building_id"]].values)
    assert shapely.intersects(shapely.buffer(g.loc[m["grid_id"]].values, 0.01), pts).all()


def _check_staff(d: SampleDistrict) -> None:
    posts = d.grid_staff
    roles = posts.groupby("grid_id")["role"].value_counts().unstack(fill_value=0)
    roles = roles.reindex(d.grid["id"], fill_value=0)
    assert (roles["grid_chief"] == 1).all()
    assert (roles["party_group_leader"] == 1).all()
    assert roles["part_time_worker"].between(2, 4).all()
    assert (roles.get("full_time_worker", 0) <= 1).all()
    part_time = d.staff[d.staff["role"] == "part_time_worker"]
    assert part_time["organisation"].notna().all()
    assert part_time["organisation"].str.contains("派出所").any()
    # Liaison leaders: about ten households each, all in the leader's own grid.
    size = d.liaison_household.groupby("staff_id").size()
    assert size.between(1, 20).all() and 7 <= size.mean() <= 13
    leaders = d.staff[d.staff["role"] == "liaison_leader"]
    assert set(leaders["id"]) == set(size.index)


def _check_all(d: SampleDistrict) -> None:
    _check_integrity(d)
    _check_codes(d)
    _check_people(d)
    _check_kinds(d)
    _check_geometry(d)
    _check_staff(d)


def test_small_fixture_consistent(small):
    _check_all(small)


# --- the whole district ---------------------------------------------------------------------


@pytest.mark.slow
def test_full_district_consistent(full):
    _check_all(full)


@pytest.mark.slow
def test_full_district_counts(full):
    assert len(full.street_office) == 7
    assert len(full.community) == 43
    assert set(full.street_office["name"]) == {
        "市中街道", "环北街道", "河西街道", "灯塔街道", "川硐街道", "正光街道", "白岩溪街道",
    }  # fmt: skip
    assert 160_000 <= len(full.household) <= 180_000
    per_community = (
        full.building.merge(
            full.household.groupby("building_id").size().rename("n"), left_on="id", right_index=True
        )
        .groupby("community_code")["n"]
        .sum()
    )
    assert per_community.min() >= 1000 and per_community.max() <= 9000
    kinds = full.building["kind"].value_counts()
    assert set(kinds.index) == {"tower", "midrise", "house"}
    assert full.road["level"].isin(["trunk", "primary", "secondary", "local"]).all()
    assert set(full.road["level"]) == {"trunk", "primary", "secondary", "local"}
    assert full.road["name"].str.contains("桥").any()  # bridges over the Jinjiang
    assert full.river["name"].tolist() == ["锦江"]
    # Full-time workers for about 90% of grids.
    ft = full.grid_staff[full.grid_staff["role"] == "full_time_worker"]["grid_id"].nunique()
    assert 0.8 <= ft / len(full.grid) <= 0.97


@pytest.mark.slow
def test_full_district_grid_sizes_imperfect(full):
    """The initial plan is imperfect as specified: some grids over 500, some under 300, a few
    under 100."""
    h = full.households_per_grid()
    assert len(h) == len(full.grid)
    assert 0.08 <= (h > 500).mean() <= 0.25
    assert 0.08 <= (h < 300).mean() <= 0.25
    assert 1 <= (h < 100).sum() <= 0.05 * len(h)
    assert 350 <= h.median() <= 450


@pytest.mark.slow
def test_full_district_deterministic(full):
    again = generate(SEED)
    for name, frame in full.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name], obj=name)


def test_community_count_is_checked():
    with pytest.raises(ValueError):
        generate(1, communities=0)
    with pytest.raises(ValueError):
        generate(1, communities=44)


def test_hilbert_order_is_a_curve():
    from data.sample.plan import hilbert_index

    xy = np.array([[i, j] for i in range(8) for j in range(8)], dtype=float)
    path = xy[np.argsort(hilbert_index(xy, order=3))]
    steps = np.abs(np.diff(path, axis=0)).sum(axis=1)
    assert (steps == 1).all()
