"""Housing stock: floors, unit entrances, flats and occupied flats per building, and the choice of
which candidate parcels are built up to reach the target number of households.

Kinds and their ranges (the issue's mix): towers hold 100–600 households in 2–6 unit entrances
(11–34 floors, 2–4 flats a floor per entrance); mid-rise walk-ups 20–80 households in 1–4
entrances (4–9 floors); self-built houses 1–6 households behind one door (2–5 floors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HOUSEHOLD_RANGE = {"tower": (100, 600), "midrise": (20, 80), "house": (1, 6)}
#: Share of households by kind the selection aims at (the rest of the city's land stays
#: schools, offices, shops, parks and hills).
KIND_SHARE = {"tower": 0.55, "midrise": 0.28, "house": 0.17}


@dataclass
class Stock:
    """Per-building and per-unit counts, aligned with the candidate buildings."""

    floors: np.ndarray
    per_floor: np.ndarray  # flats a floor per unit entrance (houses: 1)
    unit_building: np.ndarray  # building index of each unit entrance
    unit_number: np.ndarray  # 1..units
    unit_dwellings: np.ndarray
    unit_households: np.ndarray

    @property
    def households(self) -> np.ndarray:
        """Occupied flats (households) per building."""
        return np.bincount(
            self.unit_building, weights=self.unit_households, minlength=len(self.floors)
        ).astype(int)


def housing_stock(rng: np.random.Generator, kind: np.ndarray, units: np.ndarray) -> Stock:
    """Floors, flats and households for buildings of the given kinds and unit counts."""
    n = len(kind)
    tower, mid, house = (kind == k for k in ("tower", "midrise", "house"))
    per_floor = np.ones(n, dtype=int)
    per_floor[tower] = rng.choice([2, 3, 4], size=tower.sum(), p=[0.35, 0.3, 0.35])
    per_floor[mid] = np.where(units[mid] == 1, 4, rng.choice([2, 3], size=mid.sum(), p=[0.7, 0.3]))
    per_floor_all = units * per_floor
    floors = np.ones(n, dtype=int)
    # Towers: aim at a lognormal size, within 11–34 floors and 140–600 flats.
    target = np.exp(rng.normal(np.log(240), 0.45, n))
    lo = np.maximum(11, np.ceil(140 / per_floor_all)).astype(int)
    hi = np.minimum(34, np.floor(600 / per_floor_all)).astype(int)
    floors[tower] = np.clip(np.round(target / per_floor_all), lo, hi)[tower]
    lo = np.maximum(4, np.ceil(26 / per_floor_all)).astype(int)
    hi = np.minimum(9, np.floor(80 / per_floor_all)).astype(int)
    floors[mid] = np.clip(rng.integers(5, 8, n), lo, hi)[mid]
    floors[house] = rng.integers(2, 6, house.sum())
    occupancy = np.where(tower, rng.uniform(0.85, 0.98, n), rng.uniform(0.8, 1.0, n))
    house_households = rng.choice(np.arange(1, 7), size=n, p=[0.2, 0.24, 0.2, 0.16, 0.12, 0.08])

    unit_building = np.repeat(np.arange(n), units)
    starts = np.cumsum(units) - units
    unit_number = np.arange(len(unit_building)) - np.repeat(starts, units) + 1
    dwellings = (floors * per_floor)[unit_building]
    occupied = np.floor(dwellings * occupancy[unit_building] + rng.random(len(unit_building)))
    occupied = np.minimum(occupied, dwellings).astype(int)
    is_house = house[unit_building]
    occupied[is_house] = house_households[unit_building[is_house]]
    dwellings[is_house] = occupied[is_house] + (rng.random(is_house.sum()) < 0.15)
    stock = Stock(floors, per_floor, unit_building, unit_number, dwellings, occupied)
    # A building below its kind's minimum is fully let (the flats exist, so this always holds).
    low = np.zeros(n, dtype=bool)
    for k, (minimum, _) in HOUSEHOLD_RANGE.items():
        low |= (kind == k) & (stock.households < minimum)
    full = low[unit_building]
    stock.unit_households[full] = stock.unit_dwellings[full]
    return stock


def select_parcels(
    rng: np.random.Generator,
    parcel: np.ndarray,
    kind: np.ndarray,
    households: np.ndarray,
    rho: np.ndarray,
    target: int,
) -> np.ndarray:
    """Which candidate buildings are built: whole parcels in a random order favouring the
    centre for towers and walk-ups and the edge for self-built houses, until each kind reaches
    its share of ``target``; the last parcel of a kind is only partly built.

    Parameters are per building; ``rho`` is the relative distance of its parcel from the centre.
    Returns a boolean mask over the buildings.
    """
    frame = pd.DataFrame({"parcel": parcel, "kind": kind, "households": households, "rho": rho})
    per_parcel = frame.groupby("parcel").agg(
        kind=("kind", "first"), households=("households", "sum"), rho=("rho", "first")
    )
    weight = np.where(
        per_parcel["kind"] == "house",
        0.3 + per_parcel["rho"],
        np.exp(-((per_parcel["rho"] / 0.8) ** 2)),
    )
    per_parcel["key"] = -np.log(rng.random(len(per_parcel))) / weight
    per_parcel = per_parcel.sort_values("key", kind="stable")
    rank = pd.Series(np.arange(len(per_parcel)), index=per_parcel.index)
    # Buildings in parcel priority order (within a parcel, in lattice order).
    order = np.lexsort((np.arange(len(frame)), rank.loc[parcel].to_numpy()))
    keep = np.zeros(len(frame), dtype=bool)
    for k, share in KIND_SHARE.items():
        idx = order[kind[order] == k]
        before = np.cumsum(households[idx]) - households[idx]
        keep[idx[before < share * target]] = True
    # If a kind ran short, top up with the remaining buildings of any kind, in the same order.
    deficit = target - int(households[keep].sum())
    if deficit > 0:
        idx = order[~keep[order]]
        before = np.cumsum(households[idx]) - households[idx]
        keep[idx[before < deficit]] = True
    return keep
