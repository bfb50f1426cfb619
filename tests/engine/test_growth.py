"""Re-balancing after growth: the fast path moves few households and leaves the grids it need not
touch alone; a grid that no plan brings into band is a proven exception, and a compound the old
plan split for such a grid stays split."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.divide import divide
from geo.exhaustive import homeless
from geo.rebalance import rebalance
from tests.engine.synthetic import synthetic_community
from tests.engine.test_rebalance import grown
from tests.engine.test_repair import graph_of

BAND = (300, 500)


def row_of_buildings(households: list[int], compounds: list[str | None]):
    """A community 100 m deep with one building every 100 m along it (each building touches
    only the ones before and after it) and the buildings' frame."""
    n = len(households)
    buildings = gpd.GeoDataFrame(
        {
            "households": households,
            "compound_id": pd.array(compounds, dtype="string"),
        },
        geometry=[box(100 * i + 40, 40, 100 * i + 60, 60) for i in range(n)],
        index=pd.Index(range(1, n + 1), name="building_id"),
        crs="EPSG:4545",
    )
    return box(0, 0, 100 * n, 100), buildings


def plan_of(grids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"building_id": range(1, len(grids) + 1), "unit_id": None, "grid": grids})


def test_an_atom_no_grid_in_band_holds_is_homeless():
    # 170 - 31 - 313 - 200 - 200: the end building reaches 300 only with the 313 too (514)
    households = np.array([170.0, 31, 313, 200, 200])
    graph = graph_of(households, [(0, 1), (1, 2), (2, 3), (3, 4)])
    assert homeless(graph, households, np.array([0, 1, 2]), BAND) == 0
    assert homeless(graph, households, np.array([3, 4]), BAND) is None


def test_an_unavoidable_grid_over_the_ceiling_is_a_proven_exception():
    boundary, buildings = row_of_buildings([170, 31, 313, 200, 200, 200, 150], [None] * 7)
    result = rebalance(boundary, buildings, None, None, plan_of([1, 1, 1, 2, 2, 3, 3]), BAND)
    assert result.grids["households"].to_dict() == {1: 514, 2: 400, 3: 350}
    assert result.moves.empty
    [flag] = result.exceptions
    assert (flag.grid, flag.households, flag.proven) == (1, 514, True)
    assert "超上限 14 户" in flag.message and "楼栋 1（170 户）" in flag.message
    assert "已穷举" in flag.message


def test_a_compound_split_for_a_stranded_neighbour_stays_split():
    # X 280 | compound c: 150 + 150 | Y 280. Joined, c leaves X or Y alone under the floor.
    boundary, buildings = row_of_buildings([280, 150, 150, 280], [None, "c", "c", None])
    result = rebalance(boundary, buildings, None, None, plan_of([1, 1, 2, 2]), BAND)
    assert result.moves.empty
    assert result.grids["households"].to_dict() == {1: 430, 2: 430}
    [flag] = result.exceptions
    assert flag.rule == "compound" and "小区 c（300 户）拆分到 2 个网格" in flag.message


@pytest.mark.parametrize(
    ("households", "totals"),
    [([320, 150, 150, 330], [300, 320, 330]), ([100, 150, 150, 330], [330, 400])],
)
def test_a_compound_that_fits_whole_is_joined(households, totals):
    boundary, buildings = row_of_buildings(households, [None, "c", "c", None])
    result = rebalance(boundary, buildings, None, None, plan_of([1, 1, 2, 2]), BAND)
    grids = result.assignment.set_index("building_id")["grid"]
    assert grids[2] == grids[3]
    assert sorted(result.grids["households"]) == totals
    assert not result.exceptions


@pytest.fixture(scope="module")
def divided():
    c = synthetic_community(2, blocks=(4, 3), households=2400)
    return c, divide(c.boundary, c.buildings, c.units, c.barriers, BAND)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_fast_path_moves_few_and_leaves_untouched_grids_alone(divided, seed):
    c, division = divided
    buildings, units = grown(c, 0.15, seed)
    result = rebalance(c.boundary, buildings, units, c.barriers, division.assignment)
    assert result.grids["households"].between(*BAND).all()
    assert not result.exceptions
    assert result.atom_bound <= result.moved_households <= 3 * result.atom_bound
    touched = set(result.moves["from_grid"]) | set(result.moves["to_grid"])
    old = division.assignment.set_index("building_id")["grid"]
    new = result.assignment.set_index("building_id")["grid"].reindex(old.index)
    untouched = ~old.isin(touched)
    assert untouched.any() and (old[untouched] == new[untouched]).all()


@pytest.mark.parametrize("method", ["fast", "exact"])
def test_a_new_entrance_moves_for_free(method):
    # building 1: three old entrances of 100 and two new ones of 120 (540: over the ceiling,
    # so its entrances are atoms); buildings 2 and 3: 150 and 200 in grid 2 (350)
    boundary, buildings = row_of_buildings([540, 150, 200], [None] * 3)
    units = pd.DataFrame(
        {
            "building_id": [1, 1, 1, 1, 1, 2, 3],
            "unit_id": [11, 12, 13, 14, 15, 21, 31],
            "households": [100, 100, 100, 120, 120, 150, 200],
        }
    )
    plan = plan_of([1, 2, 2])
    counted = rebalance(boundary, buildings, units, None, plan, BAND, method=method)
    free = rebalance(
        boundary, buildings, units, None, plan, BAND, method=method, new_units={14, 15}
    )
    # counting every household, the cheapest fix moves an old entrance of 100
    assert counted.moves["households"].tolist() == [100]
    # a new entrance's households have no grid worker yet: one of 120 moves instead
    assert free.moves["unit_id"].isin([14, 15]).all()
    assert free.moves["households"].tolist() == [120]
    assert sorted(free.grids["households"]) == [420, 470]


def test_the_exact_solver_may_open_a_grid_of_new_households_alone():
    # building 1: three old entrances of 100 and three new ones of 120 (660); a new grid of
    # the new entrances moves no one, which the exact model must still be able to open
    boundary, buildings = row_of_buildings([660, 150, 200], [None] * 3)
    units = pd.DataFrame(
        {
            "building_id": [1, 1, 1, 1, 1, 1, 2, 3],
            "unit_id": [11, 12, 13, 14, 15, 16, 21, 31],
            "households": [100, 100, 100, 120, 120, 120, 150, 200],
        }
    )
    new = {14, 15, 16}
    result = rebalance(
        boundary, buildings, units, None, plan_of([1, 2, 2]), BAND, method="exact", new_units=new
    )
    assert result.grids["households"].between(*BAND).all()
    assert set(result.moves["unit_id"]) <= new
    assert result.optimum is not None and result.optimum.proven and result.optimum.moved == 0


@pytest.mark.parametrize("method", ["fast", "exact"])
def test_a_new_building_moves_for_free(method):
    # grid 2 (260) | grid 1: a new building of 150, then 240 and 120 (510) | grid 3 (380):
    # grid 2 reaches the floor only by taking the new building, the one next to it
    boundary, buildings = row_of_buildings([260, 150, 240, 120, 380], [None] * 5)
    plan = plan_of([2, 1, 1, 1, 3])
    counted = rebalance(boundary, buildings, None, None, plan, BAND, method=method)
    free = rebalance(boundary, buildings, None, None, plan, BAND, method=method, new_buildings={2})
    for result in (counted, free):
        assert result.moves[["building_id", "households"]].values.tolist() == [[2, 150]]
        assert result.grids["households"].between(*BAND).all()
    assert counted.moves["new_households"].tolist() == [0]
    assert free.moves["new_households"].tolist() == [150]
    if method == "exact":
        assert counted.optimum is not None and counted.optimum.moved == 150
        assert free.optimum is not None and free.optimum.moved == 0
