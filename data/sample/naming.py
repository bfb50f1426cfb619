"""Names and addresses of the sample: communities named by street, roads named by level,
door numbers along the nearest named road, community offices' addresses."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.sample import names as nm
from data.sample.district import Region


def community_names(
    rng: np.random.Generator,
    street_of: np.ndarray,
    street_name: list[str],
    comm_xy: np.ndarray,
    street_xy: np.ndarray,
) -> list[str]:
    """Community names; the community nearest its street's centre shares the street's name."""
    pool = list(nm.COMMUNITY_STEMS)
    names = [""] * len(street_of)
    for s, sname in enumerate(street_name):
        stem = sname.removesuffix("街道")
        members = np.flatnonzero(street_of == s)
        if not len(members):
            continue
        home = members[np.argmin(np.hypot(*(comm_xy[members] - street_xy[s]).T))]
        names[home] = f"{stem}社区"
        if stem in pool:
            pool.remove(stem)
    taken = {n.removesuffix("社区") for n in names if n}
    pool = [p for p in pool if p not in taken]
    order = rng.permutation(len(pool))
    k = 0
    for i in range(len(names)):
        if not names[i]:
            names[i] = f"{pool[order[k]]}社区"
            k += 1
    return names


def name_roads(
    rng: np.random.Generator, roads: gpd.GeoDataFrame, region: Region
) -> gpd.GeoDataFrame:
    """Chinese names: one per road family (all pieces of one road), bridges by their own."""
    used: set[str] = set()
    families = list(dict.fromkeys(roads["family"]))
    main = [f for f in families if not f.startswith("local")]
    trunk_names = iter(t.replace("锦江", region.river) for t in nm.TRUNK_ROADS)
    main_pool = list(rng.permutation(nm.MAIN_ROADS))
    names: dict[str, str] = {}
    for f in main:
        if f.startswith(("river", "ring")):
            names[f] = next(trunk_names)
        elif main_pool:
            names[f] = str(main_pool.pop())
        else:
            names[f] = nm.lane_names(rng, 1, used)[0].removesuffix("巷") + "大道"
        used.add(names[f])
    local = [f for f in families if f.startswith("local")]
    for f, name in zip(local, nm.lane_names(rng, len(local), used), strict=True):
        names[f] = name
    out = roads.copy()
    out["name"] = out["family"].map(names)
    bridge_names = iter(region.bridges)
    bridges = np.flatnonzero(out["bridge"].to_numpy())
    for k, i in enumerate(bridges):
        out.iloc[i, out.columns.get_loc("name")] = next(bridge_names, f"{region.river}{k + 1}号桥")
    return out


def addresses(roads: gpd.GeoDataFrame, built: gpd.GeoDataFrame, parcel_geom: np.ndarray):
    """Road and door number (门牌号) of every compound gate and every self-built house.

    Each address point takes its nearest (non-bridge) road; along each road numbers run from its
    start, odd on the left and even on the right, in the order of the points' projections.
    """
    street = roads[~roads["bridge"].to_numpy()].reset_index(drop=True)
    houses = built["kind"].to_numpy() == "house"
    parcel = built["parcel"].to_numpy()
    pids = np.concatenate([np.unique(parcel[~houses]), np.unique(parcel[houses])])
    own = np.flatnonzero(houses)
    keys = [("parcel", int(p)) for p in pids] + [("building", int(i)) for i in own]
    pts = np.concatenate(
        [
            shapely.point_on_surface(np.asarray(parcel_geom)[pids]),
            shapely.centroid(built.geometry.values.to_numpy()[own]),
        ]
    )
    lines = street.geometry.values
    _, nearest = shapely.STRtree(lines).query_nearest(pts, all_matches=False)
    road_name = street["name"].to_numpy()[nearest]
    t = shapely.line_locate_point(lines[nearest], pts)
    ahead = shapely.line_interpolate_point(lines[nearest], t + 1.0)
    here = shapely.line_interpolate_point(lines[nearest], t)
    d = shapely.get_coordinates(ahead) - shapely.get_coordinates(here)
    v = shapely.get_coordinates(pts) - shapely.get_coordinates(here)
    left = (d[:, 0] * v[:, 1] - d[:, 1] * v[:, 0]) > 0
    frame = pd.DataFrame({"name": road_name, "piece": nearest, "t": t, "left": left})
    frame["rank"] = frame.sort_values(["piece", "t"]).groupby(["name", "left"]).cumcount()
    number = np.where(frame["left"], 2 * frame["rank"] + 1, 2 * frame["rank"] + 2)
    door = [f"{n}号" for n in number]
    return dict(zip(keys, road_name, strict=True)), dict(zip(keys, door, strict=True))


def office_addresses(
    rng: np.random.Generator, comm_geom: np.ndarray, roads, region_name: str
) -> list[str]:
    """Community office address: a road through the community and a door number."""
    out = []
    tree = shapely.STRtree(roads.geometry.values)
    for g in comm_geom:
        hits = tree.query(g, predicate="intersects")
        hits = [h for h in hits if not roads["bridge"].iloc[h]] or list(hits)
        name = roads["name"].iloc[hits[rng.integers(len(hits))]] if hits else "解放路"
        out.append(f"{region_name}{name}{int(rng.integers(1, 200))}号")
    return out
