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


def _items(c: CommunityInput, factor: pd.Series) -> pd.DataFrame:
    """Sweep items: whole compounds, or buildings/units of a compound over 500 at the time.

    Items follow the compounds' order (by parcel), a split compound's buildings in their order
    and a split building's units in theirs."""
    b = c.buildings
    hist_b = np.round(b["households"].to_numpy() * factor.loc[b["parcel"]].to_numpy())
    xy = shapely.get_coordinates(shapely.centroid(b.geometry.values))
    frame = pd.DataFrame(
        {
            "parcel": b["parcel"].to_numpy(),
            "building_id": b["id"].to_numpy(),
            "hist": hist_b,
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
    per_parcel = frame.groupby("parcel").agg(hist=("hist", "sum"), x=("x", "mean"), y=("y", "mean"))
    whole = per_parcel[per_parcel["hist"] <= MAX_GRID]
    split = frame[~frame["parcel"].isin(whole.index)].assign(order=lambda f: np.arange(len(f)))
    alone = split[split["hist"] <= MAX_GRID]
    units = c.units.merge(
        split[split["hist"] > MAX_GRID][["building_id", "parcel", "order"]], on="building_id"
    )
    units_hist = np.round(units["households"].to_numpy() * factor.loc[units["parcel"]].to_numpy())
    none = -1
    parts = [
        (whole.index.to_numpy(), none, none, whole["x"], whole["y"], whole["hist"], none),
        (alone["parcel"], alone["order"], alone["building_id"], alone["x"], alone["y"],
         alone["hist"], none),
        (units["parcel"], units["order"], units["building_id"], units["x"], units["y"],
         units_hist, units["id"]),
    ]  # fmt: skip
    items = pd.concat(
        [
            pd.DataFrame(
                {
                    "x": np.asarray(x, dtype=float),
                    "y": np.asarray(y, dtype=float),
                    "hist": np.asarray(hist, dtype=float),
                    "parcel": np.asarray(parcel, dtype=np.int64),
                    "building_id": np.broadcast_to(building, len(x)).astype(np.int64),
                    "unit_id": np.broadcast_to(unit, len(x)).astype(np.int64),
                    "order": np.broadcast_to(order, len(x)).astype(np.int64),
                }
            )
            for parcel, order, building, x, y, hist, unit in parts
        ],
        ignore_index=True,
    )
    # c.units keeps its order within a building through the merge (a left-ordered join).
    at = np.lexsort((np.arange(len(items)), items["order"].to_numpy(), items["parcel"].to_numpy()))
    return items.iloc[at].drop(columns="order").reset_index(drop=True)


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
    size = c.buildings.groupby("parcel")["households"].sum()
    factor = pd.Series(history_factors(rng, size.to_numpy()), index=size.index)
    items = _items(c, factor)
    items = items.iloc[np.argsort(hilbert_index(items[["x", "y"]].to_numpy()), kind="stable")]
    items = items.assign(grid=sweep(items["hist"].to_numpy()))
    # Expand compound items to their buildings.
    whole = items[items["building_id"] < 0][["parcel", "grid"]]
    by_parcel = c.buildings[["id", "parcel"]].merge(whole, on="parcel")
    rows = [by_parcel.rename(columns={"id": "building_id"}).assign(unit_id=-1)]
    rows.append(items[items["building_id"] >= 0][["building_id", "unit_id", "grid"]])
    out = pd.concat(rows, ignore_index=True)[["building_id", "unit_id", "grid"]]
    # A building whose units all landed in one grid is assigned whole.
    split = out[out["unit_id"] >= 0]
    one = split.groupby("building_id")["grid"].nunique()
    whole_ids = one.index[one == 1]
    merged = split[split["building_id"].isin(whole_ids)].drop_duplicates("building_id")
    out = pd.concat(
        [
            out[~out["building_id"].isin(whole_ids) | (out["unit_id"] < 0)],
            merged.assign(unit_id=-1),
        ],
        ignore_index=True,
    )
    return out.astype({"building_id": int, "unit_id": int, "grid": int})


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
    desc = {}
    for g, part in assign.groupby("grid"):
        compounds = sorted({n for n in names.loc[part["building_id"]] if isinstance(n, str)})
        if compounds:
            shown = "、".join(compounds[:3])
            more = f"等{len(compounds)}个小区" if len(compounds) > 3 else ""
            desc[g] = f"含{shown}{more}"
    polys["description"] = [desc.get(g) for g in polys.index]
    polys.index.name = "label"
    return polys, assign
