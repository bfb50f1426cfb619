"""Benchmark: Wangge's divide against spopt MaxPHeuristic and GerryChain on the same atoms.

Run ``.venv/bin/python bench/partition.py [--communities N] [--seed S]``. Prints, per method:
wall time, peak traced memory (tracemalloc, second pass), share of grids in 300–500, mean
Polsby–Popper, share of internal grid-boundary length on roads/rivers; then Wangge's re-balance
after +15 % households in five communities: households moved against the lower bound
(Σ households above 500 + Σ shortfall under 300).

All three methods partition the same atoms (``geo.atoms``) over the same adjacency
(``geo.graph``), and their polygons come from the same ``geo.polygons.grid_polygons``.
The input is ``load_district``: a synthetic district until the sample district's API settles.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import tracemalloc
from collections.abc import Callable

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.atoms import assignment_frame, piece_points
from geo.divide import components, divide, prepare
from geo.errors import GridError
from geo.polygons import barrier_lines, grid_polygons
from geo.rebalance import rebalance
from geo.synthetic import Community, synthetic_district, units_for

BAND = (300, 500)
ON_BARRIER_M = 5.0
RECOM_STEPS = 30


def load_district(seed: int, communities: int) -> list[Community]:
    """The communities to benchmark (swap in ``data.sample`` here once its API is fixed)."""
    return synthetic_district(seed, communities=communities)


def run_wangge(c: Community, seed: int) -> np.ndarray:
    division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)
    return division.assignment["grid"].to_numpy()


def _atom_frame(c: Community):
    prepared = prepare(c.boundary, c.buildings, c.units, c.barriers, BAND)
    graph = prepared.graph
    households = prepared.atoms.table["households"].to_numpy()
    return prepared, graph, households


def run_spopt(c: Community, seed: int) -> np.ndarray:
    import geopandas as gpd
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)  # MaxPHeuristic draws from numpy's global generator
    prepared, graph, households = _atom_frame(c)
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
    return assignment_frame(prepared.atoms, np.asarray(model.labels_))["grid"].to_numpy()


def run_gerrychain(c: Community, seed: int) -> np.ndarray:
    import random

    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import within_percent_of_ideal_population
    from gerrychain.proposals import recom
    from gerrychain.tree import recursive_tree_part
    from gerrychain.updaters import Tally

    random.seed(seed)
    prepared, graph, households = _atom_frame(c)
    labels = np.zeros(graph.n, dtype=int)
    offset = 0
    for nodes in components(graph):
        total = households[nodes].sum()
        k = max(1, round(total / 400))
        target = total / k
        epsilon = max(0.01, min(BAND[1] / target - 1, 1 - BAND[0] / target))
        g = nx.Graph()
        g.add_nodes_from((int(i), {"households": int(households[i])}) for i in nodes)
        inside = np.isin(graph.u, nodes)
        g.add_edges_from(zip(graph.u[inside].tolist(), graph.v[inside].tolist(), strict=True))
        chain_graph = Graph.from_networkx(g)
        if k > 1:
            plan = recursive_tree_part(chain_graph, range(k), target, "households", epsilon)
            initial = Partition(chain_graph, plan, {"population": Tally("households")})
            proposal = lambda p, t=target, e=epsilon: recom(p, "households", t, e, node_repeats=2)  # noqa: E731
            chain = MarkovChain(
                proposal,
                [within_percent_of_ideal_population(initial, epsilon)],
                always_accept,
                initial,
                RECOM_STEPS,
            )
            for state in chain:
                plan = dict(state.assignment)
        else:
            plan = dict.fromkeys(g.nodes, 0)
        for node, part in plan.items():
            labels[node] = offset + int(part)
        offset += k
    return assignment_frame(prepared.atoms, labels)["grid"].to_numpy()


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


def bench(name: str, method: Callable, district: list[Community], seed: int) -> dict:
    results, failures = [], 0
    start = time.perf_counter()
    for c in district:
        try:
            results.append((c, method(c, seed)))
        except (GridError, RuntimeError, ValueError):
            failures += 1
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    for c in district[:5]:
        with contextlib.suppress(GridError, RuntimeError, ValueError):
            method(c, seed)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stats = [measures(c, grids) for c, grids in results]
    grids = sum(s["grids"] for s in stats)
    return {
        "method": name,
        "time_s": round(elapsed, 2),
        "peak_mb_5_communities": round(peak / 2**20, 1),
        "failed_communities": failures,
        "grids": grids,
        "in_band": round(sum(s["in_band"] for s in stats) / max(grids, 1), 3),
        "mean_pp": round(float(np.mean([p for s in stats for p in s["pp"]])), 3),
        "on_roads_rivers": round(
            sum(s["on_barrier_m"] for s in stats) / max(sum(s["internal_m"] for s in stats), 1),
            3,
        ),
    }


def bench_rebalance(district: list[Community], seed: int) -> pd.DataFrame:
    """Wangge's re-balance after +15 % households in five communities."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in district[:5]:
        division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)
        buildings = c.buildings.copy()
        grown = buildings["households"] * 1.15
        buildings["households"] = np.floor(grown + rng.random(len(grown))).astype(int)
        start = time.perf_counter()
        result = rebalance(
            c.boundary, buildings, units_for(buildings), c.barriers, division.assignment, BAND
        )
        rows.append(
            {
                "community": c.code,
                "time_s": round(time.perf_counter() - start, 3),
                "lower_bound": result.lower_bound,
                "moved": result.moved_households,
                "grids_in_band": f"{result.grids['households'].between(*BAND).sum()}"
                f"/{len(result.grids)}",
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=43)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["spopt", "gerrychain"])
    args = parser.parse_args()
    district = load_district(args.seed, args.communities)
    households = sum(int(c.buildings["households"].sum()) for c in district)
    buildings = sum(len(c.buildings) for c in district)
    print(f"{len(district)} communities, {buildings} buildings, {households} households")
    methods = {"wangge": run_wangge, "spopt": run_spopt, "gerrychain": run_gerrychain}
    rows = [bench(n, m, district, args.seed) for n, m in methods.items() if n not in args.skip]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
        table = bench_rebalance(district, args.seed)
        print("\nre-balance after +15 % households")
        print(table.to_string(index=False))
        print(
            f"moved / lower bound: {table['moved'].sum() / max(table['lower_bound'].sum(), 1):.2f}"
        )


if __name__ == "__main__":
    main()
