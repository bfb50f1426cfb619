"""Regressions on the real sample: community 520602001001 of ``data.sample.generate(7, 1)``.

About 3,700 households in 349 buildings, 4 compounds and many self-built houses, cut in two by
the river; its published plan is deliberately imperfect (grids of 659, 679 and 120 households,
grids across the river).
"""

import numpy as np
import pytest
import shapely

from data.sample import generate
from geo.check import check_plan
from geo.divide import divide
from geo.rebalance import rebalance
from geo.tables import community_frames, plan_assignment

BAND = (300, 500)
CODE = "520602001001"


@pytest.fixture(scope="module")
def sample():
    district = generate(7, communities=1)
    return community_frames(district, CODE), plan_assignment(district, CODE)


def test_frames_follow_the_engine_contract(sample):
    c, plan = sample
    assert c.buildings.crs.to_epsg() == 4545
    assert str(c.buildings["compound_id"].dtype) == "Int64"
    assert c.buildings["households"].sum() == c.units["households"].sum() > 3000
    assert set(c.barriers["kind"]) == {"road", "river"}
    assert set(plan["building_id"]) == set(c.buildings.index)


def test_published_plan_rebalanced_into_band_in_one_piece(sample):
    c, plan = sample
    result = rebalance(c.boundary, c.buildings, c.units, c.barriers, plan, BAND)
    report = check_plan(c.boundary, c.buildings, c.units, result.assignment, result.grids)
    assert report.ok, report.to_text_zh()
    assert result.moved_households >= result.lower_bound > 0


def test_community_divides_with_every_grid_in_band_and_in_one_piece(sample):
    c, _ = sample
    division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=0)
    report = check_plan(c.boundary, c.buildings, c.units, division.assignment, division.grids)
    assert report.ok, report.to_text_zh()
    assert (shapely.get_num_geometries(division.grids.geometry.values) == 1).all()


def test_grown_households_rebalanced_moving_few(sample):
    c, _ = sample
    division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=0)
    rng = np.random.default_rng(3)
    units = c.units.assign(
        households=np.floor(c.units["households"] * 1.15 + rng.random(len(c.units))).astype(int)
    )
    buildings = c.buildings.assign(
        households=units.groupby("building_id")["households"].sum().reindex(c.buildings.index)
    )
    result = rebalance(c.boundary, buildings, units, c.barriers, division.assignment, BAND)
    report = check_plan(c.boundary, buildings, units, result.assignment, result.grids)
    assert report.ok, report.to_text_zh()
    untouched = result.per_grid.query("households_in == 0 and households_out == 0").index
    old = division.assignment.set_index("building_id")["grid"]
    new = result.assignment.set_index("building_id")["grid"]
    assert (old[old.isin(untouched)] == new[old.isin(untouched)]).all()
