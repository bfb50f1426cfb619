"""Grid staff: "网格长 + 网格员 + N part-time workers + X liaison leaders" for every grid.

* grid chiefs (网格长) are community committee members, each leading one to three grids (the
  district reports 591 chiefs for 1,022 grids);
* a full-time grid worker (专职网格员) for about 90% of grids;
* 2–4 part-time workers (兼职网格员): the community police officer (民警, shared by the
  community's grids), property management, utilities, law enforcement, volunteers;
* a grid party group leader (网格党小组长);
* household-liaison leaders (联户长), one per about ten households of the same unit entrance
  (or the same cluster of self-built houses) in the grid, each a resident of their group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.sample.identity import mobile_numbers
from data.sample.names import person_names

FULL_TIME_SHARE = 0.9
LIAISON_GROUP = 10
UTILITIES = ("铜仁供电局碧江供电分局", "碧江区自来水公司", "铜仁华润燃气碧江营业所")
LAW_ENFORCEMENT = "碧江区综合行政执法局"


class _Roster:
    """Accumulates staff rows and grid posts with running ids."""

    def __init__(self, rng: np.random.Generator, first_id: int) -> None:
        self.rng = rng
        self.next_id = first_id
        self.staff: list[dict] = []
        self.posts: list[tuple[int, int, str]] = []

    def hire(self, community: str, role: str, organisation: str | None, party: float) -> int:
        sid = self.next_id
        self.next_id += 1
        self.staff.append(
            {
                "id": sid,
                "community_code": community,
                "name": None,
                "role": role,
                "work_phone": None,
                "party_member": bool(self.rng.random() < party),
                "organisation": organisation,
            }
        )
        return sid

    def post(self, grid_id: int, staff_id: int, role: str) -> None:
        self.posts.append((grid_id, staff_id, role))


def grid_staff(
    rng: np.random.Generator,
    grids: pd.DataFrame,
    communities: pd.DataFrame,
    police_station: dict[str, str],
    first_id: int = 1,
) -> _Roster:
    """Staff for every grid. ``grids``: id, community_code, compounds (list of names);
    ``communities``: code, name; ``police_station``: community code → station name."""
    roster = _Roster(rng, first_id)
    names = communities.set_index("code")["name"]
    for code, part in grids.groupby("community_code", sort=True):
        community = names[code]
        ids = part["id"].to_numpy()
        n_chiefs = max(1, int(np.ceil(0.6 * len(ids))))
        chiefs = [
            roster.hire(code, "grid_chief", f"{community}居委会", 0.85) for _ in range(n_chiefs)
        ]
        chief_of = rng.permutation(np.arange(len(ids)) % n_chiefs)
        police = [
            roster.hire(code, "part_time_worker", police_station[code], 0.7)
            for _ in range(1 + int(len(ids) > 6))
        ]
        for i, (gid, compounds) in enumerate(zip(ids, part["compounds"], strict=True)):
            roster.post(gid, chiefs[chief_of[i]], "grid_chief")
            if rng.random() < FULL_TIME_SHARE:
                roster.post(
                    gid, roster.hire(code, "full_time_worker", community, 0.5), "full_time_worker"
                )
            roster.post(gid, police[i % len(police)], "part_time_worker")
            for _ in range(int(rng.integers(1, 4))):
                org = _part_time_organisation(rng, community, compounds)
                roster.post(
                    gid, roster.hire(code, "part_time_worker", org, 0.3), "part_time_worker"
                )
            roster.post(
                gid, roster.hire(code, "party_group_leader", None, 1.0), "party_group_leader"
            )
    return roster


def _part_time_organisation(rng: np.random.Generator, community: str, compounds: list[str]) -> str:
    r = rng.random()
    if compounds and r < 0.4:
        return f"{compounds[rng.integers(len(compounds))]}物业服务中心"
    if r < 0.6:
        return UTILITIES[rng.integers(len(UTILITIES))]
    if r < 0.75:
        return LAW_ENFORCEMENT
    return f"{community}志愿服务队"


def liaison_groups(households: pd.DataFrame) -> np.ndarray:
    """Group number of each household: about ten households of one grid and one unit entrance
    (``group_key``), in floor/room order. ``households`` has grid_id, group_key, floor, room."""
    order = np.lexsort(
        (
            households["room"].to_numpy(),
            households["floor"].to_numpy(),
            households["group_key"].to_numpy(),
            households["grid_id"].to_numpy(),
        )
    )
    grid = households["grid_id"].to_numpy()[order]
    key = households["group_key"].to_numpy()[order]
    first = np.r_[True, (grid[1:] != grid[:-1]) | (key[1:] != key[:-1])]
    block = np.cumsum(first) - 1
    size = np.bincount(block)
    start = np.cumsum(size) - size
    rank = np.arange(len(order)) - start[block]
    chunks = np.maximum(1, np.round(size / LIAISON_GROUP)).astype(int)
    sub = rank * chunks[block] // size[block]
    chunk_start = np.cumsum(chunks) - chunks
    out = np.empty(len(order), dtype=int)
    out[order] = chunk_start[block] + sub
    return out


def add_liaison_leaders(
    rng: np.random.Generator,
    roster: _Roster,
    households: pd.DataFrame,
    community_of_grid: pd.Series,
) -> pd.DataFrame:
    """Liaison leaders (one resident head of household per group) and their households.

    ``households``: id, grid_id, group_key, floor, room, head_name, head_phone.
    Returns the liaison_household frame (household_id, staff_id).
    """
    group = liaison_groups(households)
    n_groups = group.max() + 1
    # The leader is a random household of the group.
    key = rng.random(len(households))
    order = np.lexsort((key, group))
    first = np.r_[True, group[order][1:] != group[order][:-1]]
    leader_rows = order[first]
    leaders = households.iloc[leader_rows]
    staff_ids = np.arange(roster.next_id, roster.next_id + n_groups)
    roster.next_id += n_groups
    grid_ids = leaders["grid_id"].to_numpy()
    party = rng.random(n_groups) < 0.6
    rows = zip(
        staff_ids.tolist(),
        grid_ids.tolist(),
        community_of_grid.loc[grid_ids].tolist(),
        leaders["head_name"].tolist(),
        leaders["head_phone"].tolist(),
        party.tolist(),
        strict=True,
    )
    for sid, gid, community, name, phone, p in rows:
        roster.staff.append(
            {
                "id": sid,
                "community_code": community,
                "name": name,
                "role": "liaison_leader",
                "work_phone": phone,
                "party_member": p,
                "organisation": None,
            }
        )
        roster.posts.append((gid, sid, "liaison_leader"))
    return pd.DataFrame({"household_id": households["id"].to_numpy(), "staff_id": staff_ids[group]})


def finish(rng: np.random.Generator, roster: _Roster) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staff and grid_staff frames; names and phones drawn for the staff who are not residents."""
    staff = pd.DataFrame(roster.staff)
    missing = staff["name"].isna().to_numpy()
    staff.loc[missing, "name"] = person_names(rng, int(missing.sum()))
    staff.loc[missing, "work_phone"] = mobile_numbers(rng, int(missing.sum()))
    posts = pd.DataFrame(roster.posts, columns=["grid_id", "staff_id", "role"])
    return staff, posts.drop_duplicates(["grid_id", "staff_id"])
