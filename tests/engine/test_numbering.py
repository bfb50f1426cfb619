"""Grid numbers run west→east within north→south rows; codes are 15 digits."""

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo.numbering import grid_codes, grid_sequence


def test_rows_north_to_south_then_west_to_east():
    # a 3 x 2 lattice of 100 m cells with slightly ragged northings, labels shuffled
    cells = {
        "a": box(200, 0, 300, 100),
        "b": box(0, 105, 100, 205),
        "c": box(100, 0, 200, 95),
        "d": box(200, 100, 300, 200),
        "e": box(0, 0, 100, 100),
        "f": box(100, 98, 200, 200),
    }
    grids = gpd.GeoDataFrame(geometry=list(cells.values()), index=list(cells), crs=4545)
    sequence = grid_sequence(grids)
    assert sequence.sort_values().index.tolist() == ["b", "f", "d", "e", "c", "a"]


def test_codes_pad_the_sequence():
    assert grid_codes("520602001001", [1, 12, 123]) == [
        "520602001001001",
        "520602001001012",
        "520602001001123",
    ]


@pytest.mark.parametrize(("code", "number"), [("52060200100", 1), ("520602001001", 1000)])
def test_codes_refuse_bad_input(code, number):
    with pytest.raises(ValueError):
        grid_codes(code, [number])
