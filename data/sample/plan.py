"""The published initial grid plan (version 1): deliberately imperfect, as after years of growth.

The "historical" division is what a community office might have done years ago: walk the
compounds along a Hilbert curve and close a grid at about 400 households, never cutting a
compound unless it alone was over 500 (then by building, and a building over 500 by unit
entrance). It used the household counts of that time. Since then estates were built (a few
compounds had nobody then), some grew, old quarters emptied and a few were cleared for
redevelopment, so today roughly 10–20% of grids are over 500 households, 10–20% under 300 and a
few under 100 — which is what the planners' tools are for.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.numbering import grid_codes, grid_sequence
from geo.polygons import grid_polygons

CUT_AT = 370
MAX_GRID = 500
MIN_CLOSE = 300
MERGE_TAIL_BELOW = 200
GROWN, NEW, NEW_MAX = 1, 2, 600
# Change since the plan, per compound: (probability, low, high) of historical / current.
HISTORY = (
    (0.75, 0.97, 1.15),  # about the same
    (0.10, 0.55, 0.8),  # grown (new flats let, families moved in)
    (0.05, 0.0, 0.0),  # built after the plan
    (0.08, 1.3, 1.8),  # emptied (old quarters)
    (0.02, 3.0, 6.0),  # cleared for redevelopment (棚户区改造)
)


def hilbert_index(xy: np.ndarray, order: int = 16) -> np.ndarray:
    """Index of points along a Hilbert curve over their bounding square (vectorised)."""
    n = 1 << order
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    x = np.clip(((xy[:, 0] - lo[0]) / span * (n - 1)).astype(np.int64), 0, n - 1)
    y = np.clip(((xy[:, 1] - lo[1]) / span * (n - 1)).astype(np.int64), 0, n - 1)
    d = np.zeros(len(xy), dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ~ry
        swap_x = np.where(flip & rx, n - 1 - x, x)
        swap_y = np.where(flip & rx, n - 1 - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


@dataclass
class CommunityInput:
    """One community's buildings and units for the plan, in metres."""

    code: str
    boundary: BaseGeometry
    buildings: gpd.GeoDataFrame  # id, parcel, households, compound_name, geometry
    units: pd.DataFrame  # id, building_id, households, x, y


def history_factors(rng: np.random.Generator, households: np.ndarray) -> np.ndarray:
    """Historical / current household ratio for compounds of the given current size.

    Only compounds of up to ``NEW_MAX`` households can be new since the plan: a big new estate
    would have been given grids of its own.
    """
    n = len(households)
    p = np.array([h[0] for h in HISTORY])
    kind = rng.choice(len(HISTORY), size=n, p=p / p.sum())
    kind[(kind == NEW) & (households > NEW_MAX)] = GROWN
    low = np.array([h[1] for h in HISTORY])[kind]
    high = np.array([h[2] for h in HISTORY])[kind]
    return rng.uniform(low, high)


def _items(c: CommunityInput, factor: np.ndarray, parcel_of: np.ndarray) -> dict[str, np.ndarray]:
    """Sweep items: whole compounds, or buildings/units of a compound over 500 at the time.

    ``factor`` is each compound's history factor (compounds in parcel order), ``parcel_of``
    each building's compound. Returns arrays x, y, hist, parcel (the compound's position),
    building_id and unit_id (-1 for a whole compound or building), in the compounds' order, a
    split compound's buildings in theirs and a split building's units in theirs.
    """
    b = c.buildings
    hist_b = np.round(b["households"].to_numpy() * factor[parcel_of])
    xy = shapely.get_coordinates(shapely.centroid(b.geometry.values))
    per_parcel = (
        pd.DataFrame({"parcel": parcel_of, "hist": hist_b, "x": xy[:, 0], "y": xy[:, 1]})
        .groupby("parcel")
        .agg(hist=("hist", "sum"), x=("x", "mean"), y=("y", "mean"))
    )
    whole = per_parcel["hist"].to_numpy() <= MAX_GRID
    split = ~whole[parcel_of]
    alone = np.flatnonzero(split & (hist_b <= MAX_GRID))
    u = c.units
    unit_building = pd.Index(b["id"]).get_indexer(u["building_id"])
    units = np.flatnonzero((unit_building >= 0) & (split & (hist_b > MAX_GRID))[unit_building])
    unit_parcel = parcel_of[unit_building[units]]
    compounds = np.flatnonzero(whole)
    none_c, none_a = np.full(len(compounds), -1), np.full(len(alone), -1)
    parts = {
        "x": (per_parcel["x"].to_numpy()[compounds], xy[alone, 0], u["x"].to_numpy()[units]),
        "y": (per_parcel["y"].to_numpy()[compounds], xy[alone, 1], u["y"].to_numpy()[units]),
        "hist": (
            per_parcel["hist"].to_numpy()[compounds],
            hist_b[alone],
            np.round(u["households"].to_numpy()[units] * factor[unit_parcel]),
        ),
        "parcel": (compounds, parcel_of[alone], unit_parcel),
        "building_id": (none_c, b["id"].to_numpy()[alone], u["building_id"].to_numpy()[units]),
        "unit_id": (none_c, none_a, u["id"].to_numpy()[units]),
        "building": (none_c, alone, unit_building[units]),
    }
    items = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((np.arange(len(items["x"])), items.pop("building"), items["parcel"]))
    return {k: v[order] for k, v in items.items()}


def sweep(hist: np.ndarray) -> np.ndarray:
    """Greedy grid labels for items in curve order: close at ~400, avoid passing 500."""
    labels = np.empty(len(hist), dtype=int)
    grid, total = 0, 0.0
    for i, h in enumerate(hist):
        if total + h > MAX_GRID and total >= MIN_CLOSE:
            grid, total = grid + 1, 0.0
        labels[i] = grid
        total += h
        if total >= CUT_AT and i < len(hist) - 1:
            grid, total = grid + 1, 0.0
    if grid > 0 and hist[labels == labels[-1]].sum() < MERGE_TAIL_BELOW:
        labels[labels == labels[-1]] = labels[-1] - 1
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def historical_assignment(rng: np.random.Generator, c: CommunityInput) -> pd.DataFrame:
    """Grid label per building (``unit_id`` -1) or per unit of a building split at the time."""
    b = c.buildings
    ids = b["id"].to_numpy()
    _, parcel_of = np.unique(b["parcel"].to_numpy(), return_inverse=True)
    size = np.bincount(parcel_of, weights=b["households"].to_numpy())
    items = _items(c, history_factors(rng, size), parcel_of)
    order = np.argsort(hilbert_index(np.column_stack([items["x"], items["y"]])), kind="stable")
    items = {k: v[order] for k, v in items.items()}
    label = sweep(items["hist"])
    # Expand compound items to their buildings (in the buildings' order), then the rest.
    compound = items["building_id"] < 0
    grid_of_parcel = np.full(len(size), -1)
    grid_of_parcel[items["parcel"][compound]] = label[compound]
    in_whole = grid_of_parcel[parcel_of] >= 0
    building = np.concatenate([ids[in_whole], items["building_id"][~compound]])
    unit = np.concatenate([np.full(in_whole.sum(), -1), items["unit_id"][~compound]])
    grid = np.concatenate([grid_of_parcel[parcel_of][in_whole], label[~compound]])
    # A building whose units all landed in one grid is assigned whole (at its first unit).
    by_unit = unit >= 0
    pairs = np.unique(np.column_stack([building[by_unit], grid[by_unit]]), axis=0)
    split_ids, grids = np.unique(pairs[:, 0], return_counts=True)
    whole_ids = split_ids[grids == 1]
    keep = ~np.isin(building, whole_ids) | ~by_unit
    joined = np.flatnonzero(by_unit & ~keep)
    _, first = np.unique(building[joined], return_index=True)
    joined = joined[np.sort(first)]
    return pd.DataFrame(
        {
            "building_id": np.concatenate([building[keep], building[joined]]),
            "unit_id": np.concatenate([unit[keep], np.full(len(joined), -1)]),
            "grid": np.concatenate([grid[keep], grid[joined]]),
        }
    ).astype(int)


def community_plan(
    rng: np.random.Generator, c: CommunityInput, barriers: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Grids of one community (label, number, code, name, description, geometry in metres) and
    the building/unit → grid label assignment."""
    assign = historical_assignment(rng, c)
    b = c.buildings.set_index("id")
    whole = assign[assign["unit_id"] < 0]
    pts = gpd.GeoDataFrame(
        {"grid": whole["grid"].to_numpy()},
        geometry=b.geometry.loc[whole["building_id"]].values,
        crs=c.buildings.crs,
    )
    units = assign[assign["unit_id"] >= 0].merge(
        c.units[["id", "x", "y"]], left_on="unit_id", right_on="id"
    )
    if len(units):
        unit_pts = gpd.GeoDataFrame(
            {"grid": units["grid"].to_numpy()},
            geometry=shapely.points(units[["x", "y"]].to_numpy()),
            crs=c.buildings.crs,
        )
        pts = pd.concat([pts, unit_pts], ignore_index=True)
    polys = grid_polygons(c.boundary, pts, barriers)
    sequence = grid_sequence(polys)
    polys["number"] = sequence.astype(int)
    polys["code"] = grid_codes(c.code, sequence)
    polys["name"] = [f"第{n}网格" for n in sequence]
    names = c.buildings[["id", "compound_name"]].set_index("id")["compound_name"]
    compounds_of: dict[int, set[str]] = {}
    for g, n in zip(
        assign["grid"].tolist(), names.loc[assign["building_id"]].tolist(), strict=True
    ):
        if isinstance(n, str):
            compounds_of.setdefault(g, set()).add(n)
    desc = {}
    for g, found in compounds_of.items():
        compounds = sorted(found)
        shown = "、".join(compounds[:3])
        more = f"等{len(compounds)}个小区" if len(compounds) > 3 else ""
        desc[g] = f"含{shown}{more}"
    polys["description"] = [desc.get(g) for g in polys.index]
    polys.index.name = "label"
    return polys, assign
