"""Grid sequence numbers and codes.

Grids are numbered west→east, then north→south (the DB11 rule), in *row bands*:

1. take each grid's centroid;
2. walk the grids from north to south; a grid starts a new row when its centroid lies more than
   half a typical grid height (the median height of the grids' bounding boxes) south of the
   first, northernmost grid of the current row;
3. within a row, number from west to east (equal eastings: the northern grid first).

Codes are the 12-digit community code followed by the 3-digit sequence number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_projected

COMMUNITY_CODE = re.compile(r"\d{12}")
MAX_SEQUENCE = 999


def grid_sequence(grids: gpd.GeoDataFrame) -> pd.Series:
    """Sequence number 1..n of each grid, west→east within north→south row bands.

    Parameters
    ----------
    grids
        Grid polygons in a projected CRS, indexed by grid label.

    Returns
    -------
    pandas.Series
        Integer sequence numbers indexed like ``grids``.
    """
    require_projected(grids, "网格")
    if grids.empty:
        return pd.Series([], index=grids.index, dtype=int)
    geoms = grids.geometry.values
    xy = shapely.get_coordinates(shapely.centroid(geoms))
    bounds = shapely.bounds(geoms)
    band = 0.5 * float(np.median(bounds[:, 3] - bounds[:, 1]))
    north_first = sorted(range(len(grids)), key=lambda i: (-xy[i, 1], xy[i, 0]))
    row = np.empty(len(grids), dtype=int)
    current, top = -1, np.inf
    for i in north_first:
        if xy[i, 1] < top - band:
            current, top = current + 1, xy[i, 1]
        row[i] = current
    order = np.lexsort((-xy[:, 1], xy[:, 0], row))
    sequence = np.empty(len(grids), dtype=int)
    sequence[order] = np.arange(1, len(grids) + 1)
    return pd.Series(sequence, index=grids.index, name="sequence")


def grid_codes(community_code: str, sequence: Iterable[int]) -> list[str]:
    """15-digit grid codes: the 12-digit community code plus a zero-padded 3-digit sequence.

    Parameters
    ----------
    community_code
        12-digit statistical division code of the community.
    sequence
        Sequence numbers, each in 1..999.

    Returns
    -------
    list of str
        One code per sequence number, in order.
    """
    if not COMMUNITY_CODE.fullmatch(community_code):
        raise ValueError(f"社区代码应为 12 位数字, 收到 {community_code!r}")
    codes = []
    for number in sequence:
        if not 1 <= int(number) <= MAX_SEQUENCE:
            raise ValueError(f"网格序号应在 1–{MAX_SEQUENCE} 之间, 收到 {number}")
        codes.append(f"{community_code}{int(number):03d}")
    return codes
