"""Divide every community of a street or a district, one community per CPU core at a time.

Communities are independent (a grid never crosses a community boundary), so a district is
divided by handing whole communities to worker processes, the largest first so that no core is
left with a big one at the end. Every community gets a plan (where the rules cannot all be kept,
the plan of least violation with its exceptions, see ``geo.divide``); one whose input the engine
cannot use does not stop the others: its place holds the ``geo.errors.GridError`` that says why.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Protocol

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.divide import Division, divide
from geo.errors import GridError


class CommunityInputs(Protocol):
    """One community's engine inputs (``geo.tables.Community``, ``data.plans.frames``)."""

    boundary: BaseGeometry
    buildings: gpd.GeoDataFrame
    units: pd.DataFrame | None
    barriers: gpd.GeoDataFrame | None


def _divide_one(
    community: CommunityInputs, band: tuple[int, int], seed: int
) -> Division | GridError:
    try:
        return divide(
            community.boundary,
            community.buildings,
            community.units,
            community.barriers,
            band,
            seed=seed,
        )
    except GridError as exc:
        return exc


def divide_all(
    communities: Sequence[CommunityInputs],
    band: tuple[int, int] = (300, 500),
    seed: int = 0,
    workers: int | None = None,
) -> list[Division | GridError]:
    """Divide each community (``geo.divide.divide``), in parallel over ``workers`` processes.

    Parameters
    ----------
    communities
        Inputs of each community, in a projected CRS (metres).
    band
        (low, high) households per grid.
    seed
        Seed of every community's division; the result is the same for any ``workers``.
    workers
        Processes to use; default the CPU cores available to this process. 1 divides in
        this process.

    Returns
    -------
    list
        Per community, in input order: its ``Division``, or the ``GridError`` saying why its
        input could not be used.
    """
    workers = workers or len(os.sched_getaffinity(0))
    if workers == 1 or len(communities) < 2:
        return [_divide_one(c, band, seed) for c in communities]
    largest_first = sorted(
        range(len(communities)), key=lambda i: -float(communities[i].buildings["households"].sum())
    )
    results: dict[int, Division | GridError] = {}
    # fork: the workers inherit the loaded modules instead of importing them again; frozen,
    # the inherited objects are left out of the workers' garbage collections, which would
    # otherwise walk (and copy, page by page) the whole of the caller's heap again and again
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            futures = {
                i: pool.submit(_divide_one, communities[i], band, seed) for i in largest_first
            }
            for i, future in futures.items():
                results[i] = future.result()
    finally:
        gc.unfreeze()
    return [results[i] for i in range(len(communities))]
