"""What the benchmarks of ``bench/partition.py`` and ``bench/scale.py`` share: the band, the
peers' runners, the plan measures, and a method run in a subprocess bounded in time with its peak
memory sampled."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable

import numpy as np
import psutil
import shapely

from geo.atoms import assignment_frame, piece_points
from geo.errors import GridError
from geo.polygons import barrier_lines, grid_polygons
from geo.prepared import prepare
from geo.tables import Community

BAND = (300, 500)
ON_BARRIER_M = 5.0
RSS_SAMPLE_S = 0.02
#: Samples between two look-ups of the worker processes (0.2 s).
CHILDREN_EVERY = 10


def atom_frame(c: Community):
    prepared = prepare(c.boundary, c.buildings, c.units, c.barriers, BAND)
    graph = prepared.graph
    households = graph.weights(prepared.atoms.table["households"].to_numpy())
    return prepared, graph, households


def run_spopt(c: Community, seed: int) -> np.ndarray:
    import geopandas as gpd
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)  # MaxPHeuristic draws from numpy's global generator
    prepared, graph, households = atom_frame(c)
    neighbours = {i: [] for i in range(graph.n)}
    for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    frame = gpd.GeoDataFrame(
        {"households": households, "h": households},
        geometry=shapely.points(graph.xy),
        crs=c.buildings.crs,
    )
    model = MaxPHeuristic(frame, W(neighbours, silence_warnings=True), ["h"], "households", 300)
    model.solve()
    labels = np.asarray(model.labels_)[: graph.atoms]
    return assignment_frame(prepared.atoms, labels[: graph.atoms])["grid"].to_numpy()


def measures(c: Community, grid_of_piece: np.ndarray) -> dict:
    """Share in band, mean Polsby–Popper and share of boundary on roads/rivers."""
    prepared = prepare(c.boundary, c.buildings, c.units, c.barriers, BAND)
    points = piece_points(prepared.atoms, c.buildings.crs).assign(grid=grid_of_piece)
    grids = grid_polygons(c.boundary, points, c.barriers)
    totals = points.groupby("grid")["households"].sum()
    area, length = shapely.area(grids.geometry.values), shapely.length(grids.geometry.values)
    internal = shapely.difference(
        shapely.union_all(shapely.boundary(grids.geometry.values)), c.boundary.boundary
    )
    barriers = shapely.buffer(shapely.union_all(barrier_lines(c.barriers)), ON_BARRIER_M)
    on = shapely.length(shapely.intersection(internal, barriers))
    return {
        "grids": len(grids),
        "in_band": int(totals.between(*BAND).sum()),
        "pp": list(4 * np.pi * area / length**2),
        "internal_m": shapely.length(internal),
        "on_barrier_m": on,
    }


def peak_rss(stop: threading.Event, peak: list[int]) -> None:
    """Largest total RSS of this process and its worker processes, sampled until ``stop``.

    The list of workers is looked up only every ``CHILDREN_EVERY`` samples: psutil finds
    children by reading every process of the machine (2.5 ms), which every 20 ms took an
    eighth of a core from the two workers of the division being timed."""
    process = psutil.Process()
    children: list[psutil.Process] = []
    samples = 0
    while not stop.is_set():
        if samples % CHILDREN_EVERY == 0:
            children = process.children(recursive=True)
        samples += 1
        rss = process.memory_info().rss
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                rss += child.memory_info().rss
        peak[0] = max(peak[0], rss)
        stop.wait(RSS_SAMPLE_S)


def one_by_one(method: Callable) -> Callable:
    """A method over a list of communities from one over a single community."""

    def run(district: list[Community], seed: int):
        for i, c in enumerate(district):
            try:
                yield i, method(c, seed)
            except (GridError, RuntimeError, ValueError):
                yield i, None

    return run


def _child(method: Callable, district: list[Community], seed: int, out) -> None:
    """Run ``method`` on the communities, sending (index, labels or None) then the summary."""
    stop, peak = threading.Event(), [psutil.Process().memory_info().rss]
    sampler = threading.Thread(target=peak_rss, args=(stop, peak), daemon=True)
    sampler.start()
    start = time.perf_counter()
    for item in method(district, seed):
        out.put(item)
    stop.set()
    sampler.join()
    out.put(("done", time.perf_counter() - start, peak[0]))


def bench(name: str, method: Callable, district: list[Community], seed: int, timeout: float):
    """One method over the communities in a subprocess, bounded by ``timeout`` seconds."""
    out = mp.get_context("fork").Queue()
    child = mp.get_context("fork").Process(target=_child, args=(method, district, seed, out))
    start = time.perf_counter()
    child.start()
    labels, summary = {}, None
    while summary is None:
        left = timeout - (time.perf_counter() - start)
        try:
            item = out.get(timeout=max(left, 0.01))
        except queue.Empty:
            break
        if item[0] == "done":
            summary = item
        else:
            labels[item[0]] = item[1]
    if summary is None:
        child.kill()
    child.join()
    done = {i: g for i, g in labels.items() if g is not None}
    stats = [measures(district[i], g) for i, g in sorted(done.items())]
    grids = sum(s["grids"] for s in stats)
    return {
        "method": name,
        "communities": f"{len(done)}/{len(district)}",
        "time_s": round(summary[1], 2) if summary else f"timed out after {timeout:.0f} s",
        "peak_rss_mb": round(summary[2] / 2**20) if summary else None,
        "failed": len(labels) - len(done),
        "grids": grids,
        "in_band": round(sum(s["in_band"] for s in stats) / max(grids, 1), 3),
        "mean_pp": round(float(np.mean([p for s in stats for p in s["pp"]] or [np.nan])), 3),
        "on_roads_rivers": round(
            sum(s["on_barrier_m"] for s in stats) / max(sum(s["internal_m"] for s in stats), 1),
            3,
        ),
    }
