"""A community's engine inputs from frames shaped like Wangge's tables.

``data.plans.frames`` reads the same inputs from PostGIS; this module builds them from in-memory
frames named and shaped like the tables (``building``, ``unit_entrance``, ``household``,
``community``, ``road``, ``river``, ``grid``, ``grid_member``; geometries EPSG:4490 in a column
``geom``), such as the sample district of ``data.sample.generate``. It follows the conventions of
``data.plans.frames``: metres in the community's CGCS2000 Gauss–Krüger zone, buildings indexed by id
with ``compound_id`` as Int64, household tallies per building and per unit entrance, roads and
rivers whose bounds come within ``BARRIER_MARGIN_DEG`` of the community's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE_CRS, gk_zone_epsg

#: Roads and rivers this far outside a community still shape its blocks (as ``data.plans.frames``).
BARRIER_MARGIN_DEG = 0.002


@dataclass(frozen=True)
class Community:
    """One community's inputs to the grid engine (see ``geo.atoms`` for the column contract)."""

    code: str
    boundary: BaseGeometry
    buildings: gpd.GeoDataFrame
    units: pd.DataFrame
    barriers: gpd.GeoDataFrame


class Tables(Protocol):
    """Frames named like the tables (``data.sample.SampleDistrict`` is one)."""

    community: gpd.GeoDataFrame
    building: gpd.GeoDataFrame
    unit_entrance: pd.DataFrame
    household: pd.DataFrame
    road: gpd.GeoDataFrame
    river: gpd.GeoDataFrame
    grid: gpd.GeoDataFrame
    grid_member: pd.DataFrame


def community_frames(tables: Tables, code: str) -> Community:
    """Boundary, buildings, units and barriers of community ``code``, in metres.

    Parameters
    ----------
    tables
        Frames named like the tables, geometries EPSG:4490 in ``geom``.
    code
        12-digit community code.

    Returns
    -------
    Community
        In the community's Gauss–Krüger zone (EPSG:4545 around Tongren).
    """
    row = tables.community.set_index("code").loc[[code]]
    area = gpd.GeoSeries(row.geometry.values, crs=STORAGE_CRS)
    crs = CRS.from_epsg(gk_zone_epsg(float(area.iloc[0].centroid.x)))
    building = tables.building[tables.building["community_code"] == code]
    ids = building["id"].to_numpy()
    household = tables.household[tables.household["building_id"].isin(ids)]
    per_building = household.groupby("building_id").size()
    buildings = gpd.GeoDataFrame(
        {
            "compound_id": building["compound_id"].astype("Int64").array,
            "households": per_building.reindex(ids, fill_value=0).to_numpy(),
        },
        geometry=building.geometry.values,
        index=pd.Index(ids, name="building_id"),
        crs=STORAGE_CRS,
    ).to_crs(crs)
    unit = tables.unit_entrance[tables.unit_entrance["building_id"].isin(ids)]
    per_unit = household.groupby("unit_id").size()
    units = pd.DataFrame(
        {
            "building_id": unit["building_id"].to_numpy(),
            "unit_id": unit["id"].to_numpy(),
            "households": per_unit.reindex(unit["id"].to_numpy(), fill_value=0).to_numpy(),
        }
    )
    return Community(code, area.to_crs(crs).iloc[0], buildings, units, _barriers(tables, area, crs))


def _barriers(tables: Tables, area: gpd.GeoSeries, crs: CRS) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = area.total_bounds
    m = BARRIER_MARGIN_DEG
    parts = [
        gpd.GeoDataFrame(
            {"kind": kind, "name": frame["name"].to_numpy()},
            geometry=frame.geometry.values,
            crs=STORAGE_CRS,
        ).cx[minx - m : maxx + m, miny - m : maxy + m]
        for kind, frame in (("road", tables.road), ("river", tables.river))
    ]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=STORAGE_CRS).to_crs(crs)


def plan_assignment(tables: Tables, code: str) -> pd.DataFrame:
    """The assignment (``geo.atoms``) of community ``code``'s plan, labelled by grid number."""
    grid = tables.grid[tables.grid["code"].str.startswith(code)].set_index("id")["number"]
    member = tables.grid_member[tables.grid_member["grid_id"].isin(grid.index)]
    unit = member["unit_id"].astype(object)
    return pd.DataFrame(
        {
            "building_id": member["building_id"].to_numpy(),
            "unit_id": unit.where(unit.notna(), None).to_numpy(),
            "grid": grid.loc[member["grid_id"]].to_numpy().astype(int),
        }
    )
