"""Benchmark: Wangge's divide against spopt MaxPHeuristic and GerryChain on the same atoms.

Run ``.venv/bin/python bench/partition.py [--communities N] [--peer-communities M] [--timeout S]
[--seed S] [--skip spopt gerrychain] [--rebalance-communities K] [--scale 3000 10000 ...]
[--scale-only] [--spopt-up-to H]``. The input is the sample
district, ``data.sample.generate(seed, communities=N)``, each community turned into the engine's
frames by ``geo.tables``. Each method runs in its own subprocess over the communities, bounded by
``--timeout`` seconds: a method that runs out of time is reported as "timed out after S s" with the
communities it finished. Wangge runs twice over the whole district: on every core
(``geo.district.divide_all``, one community per process) and on one core, one community after
another. Printed per method: wall time, peak memory (RSS of the subprocess and its workers, sampled
with psutil), share of grids in 300–500, mean Polsby–Popper, share of internal grid-boundary length
on roads/rivers; then Wangge's re-balance after +15 % households in the first K divisible
communities (five by default): households moved against the lower bound (Σ households above 500 + Σ
shortfall under 300), against the whole-atom bound (``geo.moves.atom_bound``: what moving whole
compounds and buildings must cost at least), time, and grids left out of band; then the exact
solver (``geo.optimum``, ``--exact-time-limit`` seconds, 0 to skip): the optimum, or the best
bound it proves when it runs out of time, and the fast path's ratio to it.

Scale (``--scale``): one region of about H households per size, cut from the sample district as
the buildings nearest its centre (whole communities merged, clipped to a disc: real-shaped
footprints, compounds, roads and the river); Wangge's ``divide`` on it in a subprocess (time,
peak memory, grids in band, named exceptions, mean Polsby–Popper, cost per household against
the smallest size), and spopt MaxPHeuristic(300) on the same atoms up to ``--spopt-up-to``
households, bounded by 300 s.

All three methods partition the same atoms (``geo.atoms``) over the same adjacency
(``geo.graph``: atoms and the free faces between them, which hold no households), and their
polygons come from the same ``geo.polygons.grid_polygons``. spopt and
GerryChain run on the first ``--peer-communities`` communities only (they are slow).
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import pandas as pd
import psutil
import scale
from common import BAND, atom_frame, bench, one_by_one, run_spopt

from data.sample import generate
from geo.atoms import assignment_frame
from geo.district import divide_all
from geo.divide import divide
from geo.errors import GridError
from geo.graph import components
from geo.rebalance import rebalance
from geo.tables import Community, community_frames

RECOM_STEPS = 30


def load_district(seed: int, communities: int) -> list[Community]:
    """The sample district's communities as engine frames."""
    district = generate(seed, communities=communities)
    return [community_frames(district, code) for code in district.community["code"]]


def run_wangge(c: Community, seed: int) -> np.ndarray:
    division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)
    return division.assignment["grid"].to_numpy()


def run_gerrychain(c: Community, seed: int) -> np.ndarray:
    import random

    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import within_percent_of_ideal_population
    from gerrychain.proposals import recom
    from gerrychain.tree import recursive_tree_part
    from gerrychain.updaters import Tally

    random.seed(seed)
    prepared, graph, households = atom_frame(c)
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
    return assignment_frame(prepared.atoms, labels[: graph.atoms])["grid"].to_numpy()


def run_wangge_parallel(district: list[Community], seed: int):
    """Wangge's whole-district division, one community per core at a time."""
    for i, result in enumerate(divide_all(district, BAND, seed)):
        yield i, None if isinstance(result, GridError) else result.assignment["grid"].to_numpy()


def grown(c: Community, rng: np.random.Generator, share: float = 0.15):
    """Buildings and units with ``share`` more households, rounded at random per unit."""
    units = c.units.copy()
    more = units["households"] * (1 + share)
    units["households"] = np.floor(more + rng.random(len(more))).astype(int)
    buildings = c.buildings.copy()
    per_building = units.groupby("building_id")["households"].sum()
    buildings["households"] = per_building.reindex(buildings.index, fill_value=0)
    return buildings, units


def bench_rebalance(
    district: list[Community], seed: int, count: int = 5, exact_limit: float = 120.0
) -> pd.DataFrame:
    """Wangge's re-balance after +15 % households in the first ``count`` divisible communities:
    the fast path, then the exact solver (``geo.optimum``, at most ``exact_limit`` seconds, warm
    started from the fast path's plan) for the optimum or the best bound it proves."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in district:
        if len(rows) == count:
            break
        try:
            division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)
        except GridError:
            continue
        buildings, units = grown(c, rng)
        args = (c.boundary, buildings, units, c.barriers, division.assignment, BAND)
        start, cpu = time.perf_counter(), time.process_time()
        result = rebalance(*args, seed=seed)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        in_band = int(result.grids["households"].between(*BAND).sum())
        row = {
            "community": c.code,
            "time_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "lower_bound": result.lower_bound,
            "atom_bound": result.atom_bound,
            "moved": result.moved_households,
            "grids_in_band": f"{in_band}/{len(result.grids)}",
            "out_of_band": len(result.grids) - in_band,
        }
        if exact_limit > 0:
            row |= _exact_columns(args, seed, exact_limit, result.moved_households)
        rows.append(row)
    return pd.DataFrame(rows)


def _exact_columns(args, seed: int, limit: float, moved: int) -> dict:
    """The exact solver's best plan (households moved), optimum (or best bound), whether
    proven, the fast path's ratio to it, and the time (fast path included)."""
    start = time.perf_counter()
    optimum = rebalance(*args, seed=seed, method="optimum", time_limit=limit).optimum
    bound = optimum.bound
    return {
        "exact_moved": int(optimum.moved) if np.isfinite(optimum.moved) else None,
        "optimum": int(bound) if np.isfinite(bound) else None,
        "proven": optimum.proven,
        "ratio": round(moved / bound, 2) if bound > 0 else (1.0 if moved == 0 else None),
        "exact_s": round(time.perf_counter() - start, 1),
    }


def print_rebalance(table: pd.DataFrame) -> None:
    """The re-balance table and its summary lines (nothing when no community was re-balanced)."""
    if table.empty:
        return
    print("\nre-balance after +15 % households (exact_moved: the exact solver's best plan;")
    print("optimum: proven, or the best bound when not; ratio: fast path moved / optimum)")
    print(table.drop(columns="out_of_band").to_string(index=False))
    print(
        f"slowest: {table['time_s'].max():.3f} s ({table['cpu_s'].max():.3f} s CPU); over 0.3 s:"
        f" {(table['time_s'] > 0.3).sum()} of {len(table)}; grids out of band:"
        f" {table['out_of_band'].sum()}"
    )
    moved = table["moved"].sum()
    print(f"moved / lower bound: {moved / max(table['lower_bound'].sum(), 1):.2f}")
    print(f"moved / whole-atom bound: {moved / max(table['atom_bound'].sum(), 1):.2f}")
    if "proven" in table:
        proven = table[table["proven"]]
        print(
            f"proven optima: {len(proven)} of {len(table)}; fast path within 1.1x of the proven"
            f" optimum: {(proven['ratio'] <= 1.1).sum()} of {len(proven)}; worst ratio:"
            f" {proven['ratio'].max() if len(proven) else float('nan'):.2f}; moved / Σ proven"
            f" optima: {proven['moved'].sum() / max(proven['optimum'].sum(), 1):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=43)
    parser.add_argument("--peer-communities", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["spopt", "gerrychain", "division"]
    )
    parser.add_argument(
        "--rebalance-communities", type=int, default=5, help="divisible communities re-balanced"
    )
    parser.add_argument("--scale", type=int, nargs="*", default=list(scale.SCALE_SIZES))
    parser.add_argument("--scale-only", action="store_true", help="only the scale section")
    parser.add_argument("--spopt-up-to", type=int, default=10_000, help="households (spopt)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="divide's budget, s")

    parser.add_argument(
        "--exact-time-limit",
        type=float,
        default=120.0,
        help="seconds the exact re-balance solver may take per community (0: skip it)",
    )
    args = parser.parse_args()
    district = load_district(args.seed, args.communities)
    if args.scale:
        scale.print_scale(district, args)
    if args.scale_only:
        return
    households = sum(int(c.buildings["households"].sum()) for c in district)
    buildings = sum(len(c.buildings) for c in district)
    print(
        f"sample district (seed {args.seed}): {len(district)} communities, {buildings} buildings,"
        f" {households} households; {psutil.cpu_count()} cores"
    )
    subset = district[: args.peer_communities]
    runs = [
        (f"wangge, {psutil.cpu_count()} cores", run_wangge_parallel, district),
        ("wangge, 1 core", one_by_one(run_wangge), district),
        ("wangge, 1 core", one_by_one(run_wangge), subset),
    ]
    runs += [
        (name, one_by_one(method), subset)
        for name, method in (("spopt", run_spopt), ("gerrychain", run_gerrychain))
        if name not in args.skip
    ]
    if "division" in args.skip:
        runs = []
    rows = [bench(name, method, part, args.seed, args.timeout) for name, method, part in runs]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        if rows:
            print(f"\ndivision (peers on the first {len(subset)} communities only: they are slow)")
            print(pd.DataFrame(rows).to_string(index=False))
        table = bench_rebalance(
            district, args.seed, args.rebalance_communities, args.exact_time_limit
        )
        print_rebalance(table)


if __name__ == "__main__":
    main()
