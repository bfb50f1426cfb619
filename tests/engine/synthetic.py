"""Synthetic communities for tests and benchmarks: a street grid, a river, compounds and towers.

The community is a rectangle in EPSG:4545 cut by a regular street grid into square blocks; an
optional river runs east–west in place of one street and is crossed by the north–south streets
(bridges). Each block holds a few compounds (小区) of walk-up buildings and some standalone
buildings; a few lumpy towers have hundreds of households. Every building has unit entrances.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, box

from geo.tables import Community

CRS = "EPSG:4545"
HOUSEHOLDS_PER_UNIT = 36
CELL_M = 30.0
MARGIN_M = 18.0


def _barriers(x0, y0, nx, ny, block_m, river_row) -> gpd.GeoDataFrame:
    width, height = nx * block_m, ny * block_m
    rows = []
    for i in range(1, nx):
        x = x0 + i * block_m
        rows.append(("road", LineString([(x, y0 - 5), (x, y0 + height + 5)])))
    for j in range(1, ny):
        y = y0 + j * block_m
        if j == river_row:
            rows.append(("river", box(x0 - 5, y - 8, x0 + width + 5, y + 8)))
        else:
            rows.append(("road", LineString([(x0 - 5, y), (x0 + width + 5, y)])))
    kinds, geoms = zip(*rows, strict=True) if rows else ((), ())
    return gpd.GeoDataFrame({"kind": list(kinds)}, geometry=list(geoms), crs=CRS)


def _block_buildings(rng, x0, y0, block_m, next_id, next_compound):
    """Buildings of one block: cell centres of a lattice inside the block's margin."""
    cells = int((block_m - 2 * MARGIN_M) // CELL_M)
    spots = [(i, j) for i in range(cells) for j in range(cells)]
    take = rng.choice(len(spots), size=min(len(spots), int(rng.integers(4, 9))), replace=False)
    rows = []
    compound = None
    for k, spot in enumerate(sorted(take)):
        if k == 0 or rng.random() < 0.3:
            compound = None if rng.random() < 0.25 else f"C{next_compound + k}"
        i, j = spots[spot]
        cx = x0 + MARGIN_M + (i + 0.5) * CELL_M
        cy = y0 + MARGIN_M + (j + 0.5) * CELL_M
        tower = rng.random() < 0.06
        weight = rng.uniform(8.0, 28.0) if tower else rng.lognormal(0.0, 0.5)
        footprint = box(cx - 10, cy - 6, cx + 10, cy + 6)
        rows.append((f"B{next_id + k}", compound, weight, footprint))
    return rows


def synthetic_community(
    seed: int = 0,
    blocks: tuple[int, int] = (5, 4),
    block_m: float = 200.0,
    households: int = 3000,
    river: bool = True,
    origin: tuple[float, float] = (480_000.0, 3_060_000.0),
    code: str = "520602001001",
) -> Community:
    """A random community with about ``households`` households.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same community.
    blocks
        Number of blocks west–east and south–north.
    block_m
        Side of a block in metres.
    households
        Total households (exact).
    river
        Whether a river replaces the middle east–west street.
    origin
        South-west corner in EPSG:4545 metres.
    code
        12-digit community code.

    Returns
    -------
    Community
    """
    rng = np.random.default_rng(seed)
    nx, ny = blocks
    x0, y0 = origin
    rows = []
    for bx in range(nx):
        for by in range(ny):
            rows += _block_buildings(
                rng,
                x0 + bx * block_m,
                y0 + by * block_m,
                block_m,
                len(rows),
                10 * len(rows),
            )
    ids, compounds, weights, geoms = zip(*rows, strict=True)
    weights = np.asarray(weights)
    counts = np.floor(weights / weights.sum() * households).astype(int)
    counts[np.argsort(-weights)[: households - counts.sum()]] += 1
    buildings = gpd.GeoDataFrame(
        {"households": counts, "compound_id": pd.array(compounds, dtype="string")},
        geometry=list(geoms),
        index=pd.Index(ids, name="building_id"),
        crs=CRS,
    )
    units = units_for(buildings)
    boundary = box(x0, y0, x0 + nx * block_m, y0 + ny * block_m)
    river_row = ny // 2 if river and ny > 1 else None
    return Community(
        code, boundary, buildings, units, _barriers(x0, y0, nx, ny, block_m, river_row)
    )


def units_for(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Unit entrances: about ``HOUSEHOLDS_PER_UNIT`` households each, spread evenly."""
    frames = []
    for building_id, count in buildings["households"].items():
        n = max(1, int(np.ceil(count / HOUSEHOLDS_PER_UNIT)))
        split = np.full(n, count // n) + (np.arange(n) < count % n)
        frames.append(
            pd.DataFrame(
                {
                    "building_id": building_id,
                    "unit_id": [f"{building_id}-{k + 1}" for k in range(n)],
                    "households": split,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
