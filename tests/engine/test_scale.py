"""A region of many grids: divided chunk by chunk (METIS, then the band search), within its time
budget; and the local projected CRS wherever the data lies."""

import numpy as np
import pytest

from geo.check import check_plan
from geo.crs import local_epsg
from geo.divide import divide
from geo.multilevel import metis_labels
from geo.reasons import TIMED_OUT
from geo.search import CHUNK_ABOVE
from tests.engine.synthetic import synthetic_community
from tests.engine.test_divide import assert_passes_or_names_exceptions

BAND = (300, 500)


@pytest.fixture(scope="module")
def region():
    """About 30 grids' worth of households over 8 × 6 blocks with a river."""
    return synthetic_community(11, blocks=(8, 6), households=12_000)


def test_large_region_is_divided_in_chunks_within_the_band(region):
    assert region.buildings["households"].sum() / 400 > CHUNK_ABOVE
    division = divide(region.boundary, region.buildings, region.units, region.barriers, BAND)
    assert not division.timed_out
    assert_passes_or_names_exceptions(region, region.buildings, region.units, division)
    in_band = division.grids["households"].between(*BAND).mean()
    assert in_band >= 0.9, division.exceptions


def test_time_budget_returns_the_best_plan_so_far_and_says_so(region):
    division = divide(
        region.boundary, region.buildings, region.units, region.barriers, BAND, time_limit=0.01
    )
    assert division.timed_out
    report = check_plan(
        region.boundary, region.buildings, region.units, division.assignment, division.grids
    )
    assert {f.rule for f in report.findings if not f.ok} <= {"band"}
    assert division.grids["households"].sum() == region.buildings["households"].sum()
    out_of_band = set(division.grids.index[~division.grids["households"].between(*BAND)])
    assert out_of_band == {flag.grid for flag in division.exceptions}
    assert all(TIMED_OUT in flag.message for flag in division.exceptions)


def test_metis_parts_are_connected_and_balanced(region):
    from geo.graph import components, connected
    from geo.prepared import prepare

    prepared = prepare(region.boundary, region.buildings, region.units, region.barriers, BAND)
    graph = prepared.graph
    households = graph.weights(prepared.atoms.table["households"].to_numpy())
    nodes = components(graph)[0]
    labels = metis_labels(graph, households, nodes, 4)
    assert sorted(np.unique(labels)) == [0, 1, 2, 3]
    totals = np.array([households[nodes[labels == k]].sum() for k in range(4)])
    assert totals.max() < 1.3 * totals.mean()
    assert all(connected(graph, nodes[labels == k]) for k in range(4))


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(109.19, 27.72, 4545), (14.42, 50.08, 32633), (-74.0, 40.7, 32618), (151.2, -33.9, 32756)],
)
def test_local_crs_is_the_gk_zone_in_china_and_utm_elsewhere(lon, lat, epsg):
    assert local_epsg(lon, lat) == epsg
