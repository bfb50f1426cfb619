"""rebalance() fixes the band moving few households; check_plan reports violations."""

import numpy as np
import pytest

from geo.check import check_plan
from geo.divide import divide
from geo.rebalance import rebalance
from tests.engine.synthetic import synthetic_community, units_for

BAND = (300, 500)


@pytest.fixture(scope="module")
def plan():
    c = synthetic_community(2, blocks=(4, 3), households=2400)
    return c, divide(c.boundary, c.buildings, c.units, c.barriers, BAND)


def grown(c, share: float, seed: int):
    rng = np.random.default_rng(seed)
    buildings = c.buildings.copy()
    pick = rng.random(len(buildings)) < 0.5
    buildings.loc[pick, "households"] = np.round(
        buildings.loc[pick, "households"] * (1 + 2 * share)
    ).astype(int)
    return buildings, units_for(buildings)


def test_unchanged_plan_moves_nothing(plan):
    c, division = plan
    result = rebalance(c.boundary, c.buildings, c.units, c.barriers, division.assignment)
    assert result.moves.empty
    assert result.lower_bound == 0
    assert (result.assignment["grid"] == division.assignment["grid"]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_growth_fixed_with_few_moves(plan, seed):
    c, division = plan
    buildings, units = grown(c, 0.15, seed)
    result = rebalance(c.boundary, buildings, units, c.barriers, division.assignment)
    report = check_plan(c.boundary, buildings, units, result.assignment, result.grids)
    assert report.ok, report.to_text_zh()
    assert result.moved_households >= result.lower_bound
    untouched = result.per_grid.query("households_in == 0 and households_out == 0").index
    old = division.assignment.set_index(["building_id"])["grid"]
    new = result.assignment.set_index(["building_id"])["grid"]
    assert (old[old.isin(untouched)] == new[old.isin(untouched)]).all()


def test_report_flags_small_grid_for_merge(plan):
    c, division = plan
    buildings = c.buildings.copy()
    first = division.assignment.loc[division.assignment["grid"] == 1, "building_id"]
    buildings.loc[first, "households"] = 1
    report = check_plan(c.boundary, buildings, c.units, division.assignment, division.grids)
    assert not report.ok
    assert "应合并" in report.to_text_zh()
    assert report.to_dict()["households"]["1"] < 100
