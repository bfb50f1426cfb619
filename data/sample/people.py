"""Households: flats, heads of household, phones, ID numbers, sizes, and sensitive care tags.

About 5% of households carry care tags (elderly living alone, low-income, disabled, left-behind
child); the tags agree with the household (an elderly person living alone heads a one-person
household and is 65 or older; a left-behind child lives in a household of two or more).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.sample.identity import id_numbers, mobile_numbers
from data.sample.names import person_names
from data.sample.stock import Stock

CARE_SHARE = 0.05
MEMBER_P = np.array([0.14, 0.26, 0.28, 0.18, 0.09, 0.05])  # 1..6 people
TODAY = np.datetime64("2026-01-01")


def flats(rng: np.random.Generator, stock: Stock, is_house: np.ndarray):
    """Occupied flats: (unit index, floor, room) for every household.

    Flats of a tower or walk-up entrance are numbered floor × 100 + position ("1202"); the
    occupied ones are a random subset of the entrance's flats. A self-built house's households
    take its floors in turn ("101", "201", "301", "102" ...).
    """
    floors = stock.floors[stock.unit_building]
    per_floor = stock.per_floor[stock.unit_building]
    house = is_house[stock.unit_building]
    # Apartments: enumerate every flat, keep a random subset of the wanted size per entrance.
    apt = np.flatnonzero(~house)
    size = (floors * per_floor)[apt]
    unit_of = np.repeat(apt, size)
    local = np.arange(len(unit_of)) - np.repeat(np.cumsum(size) - size, size)
    key = rng.random(len(unit_of))
    order = np.lexsort((key, unit_of))
    rank = np.empty(len(unit_of), dtype=int)
    rank[order] = np.arange(len(unit_of)) - np.repeat(np.cumsum(size) - size, size)
    take = rank < stock.unit_households[unit_of]
    unit_a, local_a = unit_of[take], local[take]
    floor_a = local_a // per_floor[unit_a] + 1
    pos_a = local_a % per_floor[unit_a] + 1
    # Self-built houses: households spread over the floors.
    hs = np.flatnonzero(house)
    count = stock.unit_households[hs]
    unit_h = np.repeat(hs, count)
    i = np.arange(len(unit_h)) - np.repeat(np.cumsum(count) - count, count)
    floor_h = i % floors[unit_h] + 1
    pos_h = i // floors[unit_h] + 1
    unit = np.concatenate([unit_a, unit_h])
    floor = np.concatenate([floor_a, floor_h])
    pos = np.concatenate([pos_a, pos_h])
    order = np.lexsort((pos, floor, unit))
    unit, floor, pos = unit[order], floor[order], pos[order]
    room = np.char.add(floor.astype(str), np.char.zfill(pos.astype(str), 2))
    return unit, floor, room


def households(
    rng: np.random.Generator,
    stock: Stock,
    building_ids: np.ndarray,
    unit_ids: np.ndarray,
    is_house: np.ndarray,
    first_id: int = 1,
    area: str = "520602",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The household table and the protected care table; ID numbers carry the address code
    ``area`` (the district or county).

    Returns
    -------
    (household, household_care)
        Frames with exactly the columns of ``household`` and ``protected.household_care``.
    """
    unit, floor, room = flats(rng, stock, is_house)
    n = len(unit)
    members = rng.choice(np.arange(1, 7), size=n, p=MEMBER_P)
    female = rng.random(n) < 0.38
    age = np.clip(rng.normal(50, 15, n), 22, 92)
    # Care tags, drawn first so that the household can be made to agree with them.
    care = rng.random(n) < CARE_SHARE
    idx = np.flatnonzero(care)
    kind = rng.choice(4, size=len(idx), p=[0.35, 0.35, 0.18, 0.12])
    elderly, low_income, disabled, left_behind = (np.zeros(n, bool) for _ in range(4))
    elderly[idx[kind == 0]] = True
    low_income[idx[kind == 1]] = True
    disabled[idx[kind == 2]] = True
    left_behind[idx[kind == 3]] = True
    extra = care & (rng.random(n) < 0.2)  # some households carry a second tag
    low_income |= extra & (elderly | disabled)
    members[elderly] = 1
    age[elderly] = rng.uniform(65, 92, elderly.sum())
    members[left_behind] = np.maximum(members[left_behind], 2)
    age[left_behind] = rng.uniform(58, 80, left_behind.sum())  # grandparents care for the child
    birth = TODAY - np.round(age * 365.25).astype("timedelta64[D]")
    household = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + n),
            "building_id": building_ids[stock.unit_building[unit]],
            "unit_id": unit_ids[unit],
            "floor": floor,
            "room": room,
            "head_name": person_names(rng, n, female),
            "head_phone": mobile_numbers(rng, n),
            "id_number": id_numbers(rng, birth, female, area),
            "members": members,
        }
    )
    no_phone = rng.random(n) < np.where(age > 75, 0.3, 0.01)  # some old people have no mobile
    household.loc[no_phone, "head_phone"] = None
    notes = np.full(n, None, dtype=object)
    notes[elderly] = "独居老人，网格员每周上门走访"
    notes[left_behind] = "父母在外务工，随祖辈生活"
    notes[disabled & ~elderly] = "持残疾人证"
    notes[low_income & ~elderly & ~disabled] = "城市低保户"
    care_frame = pd.DataFrame(
        {
            "household_id": household["id"].to_numpy()[care],
            "elderly_alone": elderly[care],
            "low_income": low_income[care],
            "disabled": disabled[care],
            "left_behind_child": left_behind[care],
            "notes": notes[care],
        }
    )
    return household, care_frame
