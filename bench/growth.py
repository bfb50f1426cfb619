"""Benchmark: ten years of growth, re-balanced each year, against re-dividing from scratch.

Run ``.venv/bin/python bench/growth.py [--communities N] [--years Y] [--seed S] [--method M]``
(``--method exact``: the "best plan" of ``geo.rebalance``, at most 10 s a community). The start is
the sample district (``data.sample.generate(seed)``) divided by ``geo.divide``, its first N
divisible communities. Each year, seeded: in each community new towers of 100–600 households
rise in a compound or two (Poisson, one a year on average: new unit entrances in one of its
buildings), about one building in a hundred is demolished, and every other entrance drifts by up
to ±3 %. Then the plan people live with is re-balanced (``geo.rebalance``, told which entrances
are new: their households have no grid worker yet, so placing them costs nothing), and, for
comparison, the community is divided from scratch.
Printed per year: grids in band after re-balancing (and the grids out of band, named; those
that ``geo.rebalance`` proves no plan can bring into band are counted as ``excepted`` and marked
（例外）), the slowest community's wall-clock and CPU seconds,
households whose grid worker changed by re-balancing, and households whose grid worker would
change by re-dividing from scratch (its grids matched to the old ones so as to keep the most
households: an assignment problem), both counting only the households of entrances that stood a
year before (a new tower's households had no grid worker yet).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from data.sample import generate
from geo.atoms import grid_of_pieces
from geo.divide import divide
from geo.errors import GridError
from geo.prepared import prepare
from geo.rebalance import new_households, rebalance
from geo.tables import Community, community_frames

BAND = (300, 500)

TOWER = (100, 600)
TOWER_ENTRANCE = 100  # households per entrance of a new tower, at most
TOWERS = 1.0  # new towers per community and year, on average (Poisson)
DEMOLISH_SHARE = 0.01  # of buildings, each year
DRIFT = 0.03


def year_on(c: Community, rng: np.random.Generator) -> Community:
    """The community a year later: new towers, demolitions and drift (see the docstring)."""
    buildings, units = c.buildings.copy(), c.units.copy()
    gone = buildings.index[rng.random(len(buildings)) < DEMOLISH_SHARE]
    buildings = buildings.drop(gone)
    units = units[~units["building_id"].isin(gone)]
    drift = units["households"] * (1 + rng.uniform(-DRIFT, DRIFT, len(units)))
    units = units.assign(households=np.floor(drift + rng.random(len(units))).astype(int))
    compounds = buildings["compound_id"].dropna().unique()
    rising = rng.choice(compounds, min(rng.poisson(TOWERS), len(compounds)), replace=False)
    new = []
    next_id = int(units["unit_id"].max()) + 1
    for compound in rising:
        host = rng.choice(buildings.index[buildings["compound_id"] == compound])
        households = int(rng.integers(TOWER[0], TOWER[1] + 1))
        entrances = -(-households // TOWER_ENTRANCE)
        sizes = np.diff(np.linspace(0, households, entrances + 1).round().astype(int))
        for size in sizes:
            new.append({"building_id": host, "unit_id": next_id, "households": int(size)})
            next_id += 1
    units = pd.concat([units, pd.DataFrame(new, columns=units.columns)], ignore_index=True)
    units = units.astype({"unit_id": c.units["unit_id"].dtype})
    per_building = units.groupby("building_id")["households"].sum()
    buildings["households"] = per_building.reindex(buildings.index, fill_value=0).astype(int)
    return Community(c.code, c.boundary, buildings, units, c.barriers)


def settled(pieces: pd.DataFrame, units: pd.DataFrame, before: set) -> np.ndarray:
    """Households of each piece (``building_id``, ``unit_id``, ``households``) in entrances
    standing ``before``: all but those of the entrances built since."""
    new = set(units["unit_id"]) - before
    return pieces["households"].to_numpy() - new_households(pieces, units, new)


def scratch_moved(c: Community, live: pd.DataFrame, before: set, seed: int) -> int | None:
    """Households whose grid worker would change by dividing ``c`` from scratch (None: no
    plan), its grids matched to the ``live`` plan's so as to keep the most households; only
    households of entrances standing ``before`` count."""
    try:
        division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)
    except GridError:
        return None
    atoms = prepare(c.boundary, c.buildings, c.units, c.barriers, BAND).atoms
    old = grid_of_pieces(atoms, live).astype(int)
    new = division.assignment["grid"].to_numpy()
    weight = settled(atoms.pieces, c.units, before)
    table = pd.crosstab(old, new, values=weight, aggfunc="sum").fillna(0)
    rows, cols = linear_sum_assignment(table.to_numpy(), maximize=True)
    return int(weight.sum() - table.to_numpy()[rows, cols].sum())


def simulate(
    district: list[Community], count: int, years: int, seed: int, method: str = "fast"
) -> pd.DataFrame:
    """One row per year over the first ``count`` divisible communities: grids in band, grids out
    of band named, households moved both ways."""
    rng = np.random.default_rng(seed)
    live = []
    for c in district:
        if len(live) == count:
            break
        try:
            division = divide(c.boundary, c.buildings, c.units, c.barriers, BAND, seed=seed)
        except GridError:
            continue
        live.append((c, division.assignment))
    rows = []
    for year in range(1, years + 1):
        in_band = grids = moved = scratch = households = excused = 0
        outside, no_plan, seconds, cpu = [], 0, 0.0, 0.0
        for i, (c, assignment) in enumerate(live):
            before = set(c.units["unit_id"])
            c = year_on(c, rng)
            start, cpu_start = time.perf_counter(), time.process_time()
            result = rebalance(
                *(c.boundary, c.buildings, c.units, c.barriers, assignment, BAND, seed, method),
                new_units=set(c.units["unit_id"]) - before,
            )
            seconds = max(seconds, time.perf_counter() - start)
            cpu = max(cpu, time.process_time() - cpu_start)
            totals = result.grids["households"]
            ok = totals.between(*BAND)
            in_band += int(ok.sum())
            grids += len(totals)
            proven = {f.grid for f in result.exceptions if f.rule == "band" and f.proven}
            excused += len(proven & set(totals[~ok].index))
            outside += [
                f"{c.code}/{g}: {int(t)} 户{'（例外）' if g in proven else ''}"
                for g, t in totals[~ok].items()
            ]
            moved += int(result.moves["settled_households"].sum())
            households += int(c.buildings["households"].sum())
            again = scratch_moved(c, assignment, before, seed)
            no_plan += again is None
            scratch += again or 0
            live[i] = (c, result.assignment)
        rows.append(
            {
                "year": year,
                "households": households,
                "grids_in_band": f"{in_band}/{grids}",
                "excepted": excused,
                "moved_rebalance": moved,
                "moved_scratch": scratch,
                "share": round(moved / max(scratch, 1), 3),
                "slowest_s": round(seconds, 2),
                "slowest_cpu_s": round(cpu, 2),
                "scratch_no_plan": no_plan,
                "out_of_band": "; ".join(outside) or "-",
            }
        )
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=year == 1), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=5, help="divisible communities")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--method", default="fast", choices=["fast", "exact"], help="re-balancing method"
    )
    args = parser.parse_args()
    sample = generate(args.seed)
    district = [community_frames(sample, code) for code in sample.community["code"]]
    print(
        f"sample district (seed {args.seed}): the first {args.communities} divisible communities,"
        f" {args.years} years of growth, re-balanced by the {args.method} method; slowest_s is"
        " wall-clock on a shared machine, slowest_cpu_s the most CPU time a community took"
    )
    table = simulate(district, args.communities, args.years, args.seed, args.method)
    worst = table["share"].max()
    kept = (table["grids_in_band"].str.split("/").str[0].astype(int) + table["excepted"]).astype(
        str
    ) == table["grids_in_band"].str.split("/").str[1]
    print(
        f"\nevery grid in band every year: {(table['out_of_band'] == '-').all()}; in band or a"
        f" proven exception: {kept.all()}; re-balancing moved at most {worst:.1%} of what"
        " re-dividing from scratch would (target ≤ 20 %)"
    )


if __name__ == "__main__":
    main()
