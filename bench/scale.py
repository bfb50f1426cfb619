"""The scale section of ``bench/partition.py``: one region per size cut from the sample
district (its real-shaped footprints, compounds, roads and river), divided in one go; time, peak
memory, grids in band, exceptions, mean Polsby–Popper, cost per household against the smallest
size, and spopt's MaxPHeuristic(300) on the same units up to a size."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time

import numpy as np
import pandas as pd
import psutil
import shapely
from common import BAND, bench, one_by_one, peak_rss, run_spopt

from geo.divide import divide
from geo.tables import Community

SCALE_SIZES = (3_000, 10_000, 30_000, 100_000)
SPOPT_TIMEOUT_S = 300.0
#: Margin of the disc that clips a scale region around its buildings, metres.
REGION_MARGIN_M = 40.0


def scale_region(district: list[Community], households: int) -> Community:
    """The buildings of the merged communities nearest the district's centre holding about
    ``households``, with their units, roads and rivers, clipped to a disc around them."""
    buildings = pd.concat([c.buildings for c in district])
    units = pd.concat([c.units for c in district], ignore_index=True)
    barriers = pd.concat([c.barriers for c in district], ignore_index=True)
    barriers = barriers[~barriers.geometry.to_wkb().duplicated()]
    rivers = barriers.geometry[barriers["kind"] == "river"].to_numpy()
    area = shapely.union_all([c.boundary for c in district])
    centre = area.centroid
    # the river between communities belongs to the region: its bridges link the banks
    area = shapely.union_all([area, *shapely.intersection(rivers, area.convex_hull)])
    points = shapely.point_on_surface(buildings.geometry.values)
    distance = shapely.distance(points, centre)
    order = np.argsort(distance, kind="stable")
    reach = np.cumsum(buildings["households"].to_numpy()[order])
    last = min(int(np.searchsorted(reach, households)), len(order) - 1)
    radius = float(distance[order[last]])
    keep = buildings.iloc[np.sort(order[: last + 1])]
    boundary = shapely.intersection(area, centre.buffer(radius + REGION_MARGIN_M))
    inside = shapely.within(shapely.point_on_surface(keep.geometry.values), boundary)
    keep = keep[inside]
    clipped = barriers[barriers.intersects(boundary)]
    return Community(
        f"region-{households}",
        boundary,
        keep,
        units[units["building_id"].isin(keep.index)],
        clipped,
    )


def _divide_region(c: Community, seed: int, time_limit: float, out) -> None:
    """Divide one region, sending (seconds, peak RSS, summary) to ``out``."""
    stop, peak = threading.Event(), [psutil.Process().memory_info().rss]
    sampler = threading.Thread(target=peak_rss, args=(stop, peak), daemon=True)
    sampler.start()
    start = time.perf_counter()
    division = divide(
        c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed, time_limit=time_limit
    )
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    geoms = division.grids.geometry.values
    pp = 4 * np.pi * shapely.area(geoms) / shapely.length(geoms) ** 2
    out.put(
        {
            "seconds": seconds,
            "peak_mb": peak[0] / 2**20,
            "grids": len(division.grids),
            "in_band": int(division.grids["households"].between(*BAND).sum()),
            "exceptions": len(division.exceptions),
            "timed_out": division.timed_out,
            "mean_pp": float(np.mean(pp)),
            "examples": [f.message for f in division.exceptions[:3]],
        }
    )


def bench_scale(
    district: list[Community], sizes, seed: int, time_limit: float, spopt_up_to: int
) -> pd.DataFrame:
    """Wangge (and spopt where affordable) on one region per size; one row per size."""
    rows = []
    for size in sizes:
        c = scale_region(district, size)
        households = int(c.buildings["households"].sum())
        out = mp.get_context("fork").Queue()
        child = mp.get_context("fork").Process(
            target=_divide_region, args=(c, seed, time_limit, out)
        )
        child.start()
        result = out.get()
        child.join()
        row = {
            "households": households,
            "buildings": len(c.buildings),
            "time_s": round(result["seconds"], 2),
            "us_per_household": round(1e6 * result["seconds"] / households, 1),
            "peak_rss_mb": round(result["peak_mb"]),
            "grids": result["grids"],
            "in_band": round(result["in_band"] / max(result["grids"], 1), 3),
            "exceptions": result["exceptions"],
            "timed_out": result["timed_out"],
            "mean_pp": round(result["mean_pp"], 3),
        }
        if households <= spopt_up_to:
            peer = bench("spopt", one_by_one(run_spopt), [c], seed, SPOPT_TIMEOUT_S)
            row.update(
                spopt_time_s=peer["time_s"], spopt_in_band=peer["in_band"], spopt_pp=peer["mean_pp"]
            )
        rows.append(row)
        for message in result["examples"]:
            print(f"  {households} households, exception: {message}")
    table = pd.DataFrame(rows)
    table["cost_ratio"] = (table["us_per_household"] / table["us_per_household"].iat[0]).round(2)
    return table


def print_scale(district: list[Community], args) -> None:
    """The scale section: one region per size, cost per household against the smallest."""
    table = bench_scale(district, args.scale, args.seed, args.time_limit, args.spopt_up_to)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\nscale: one region per size, time limit {args.time_limit:g} s")
        print(table.to_string(index=False))
    print(f"cost per household, largest / smallest: {table['cost_ratio'].iat[-1]:.2f} (target ≤ 3)")
