"""divide_all(): communities divided in parallel, as they would be one by one."""

import numpy as np

from geo.district import divide_all
from geo.divide import Division
from geo.errors import NoValidDivision
from tests.engine.synthetic import synthetic_community


def test_parallel_division_matches_one_by_one_and_reports_the_impossible():
    communities = [
        synthetic_community(seed, blocks=(3, 2), households=1200 + 400 * seed) for seed in range(3)
    ]
    communities.append(synthetic_community(9, blocks=(1, 1), households=150, river=False))
    one_by_one = divide_all(communities, seed=4, workers=1)
    parallel = divide_all(communities, seed=4, workers=2)
    for alone, together in zip(one_by_one[:3], parallel[:3], strict=True):
        assert isinstance(alone, Division) and isinstance(together, Division)
        assert np.array_equal(alone.assignment["grid"], together.assignment["grid"])
        assert together.grids["households"].between(300, 500).all()
    assert isinstance(parallel[3], NoValidDivision)
    assert "户" in str(parallel[3])
