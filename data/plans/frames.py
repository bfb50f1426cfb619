"""A community read from PostGIS as the plain frames the grid engine works on.

Everything is returned in the community's CGCS2000 Gauss–Krüger zone (metres); the tallies are
the household records (人进户) per building and unit entrance.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import STORAGE_CRS, gk_zone_epsg
from geo.tables import BARRIER_MARGIN_DEG


@dataclass(frozen=True)
class CommunityFrames:
    """One community, ready for ``geo``: boundary, buildings, units and barriers."""

    code: str
    name: str
    band: tuple[int, int]
    crs: CRS
    boundary: BaseGeometry
    buildings: gpd.GeoDataFrame
    units: pd.DataFrame
    barriers: gpd.GeoDataFrame


BUILDINGS = text(
    """
    SELECT b.id AS building_id, b.compound_id, b.name, b.road, b.door_number,
           coalesce(c.name, '') AS compound_name,
           (SELECT count(*) FROM household h WHERE h.building_id = b.id)::int AS households,
           ST_AsBinary(b.geom) AS geom
    FROM building b LEFT JOIN compound c ON c.id = b.compound_id
    WHERE b.community_code = :code
    ORDER BY b.id
    """
)
UNITS = text(
    """
    SELECT u.building_id, u.id AS unit_id, u.number,
           (SELECT count(*) FROM household h WHERE h.unit_id = u.id)::int AS households
    FROM unit_entrance u JOIN building b ON b.id = u.building_id
    WHERE b.community_code = :code
    ORDER BY u.building_id, u.number
    """
)
BARRIERS = text(
    """
    WITH area AS (SELECT ST_Expand(geom, :margin) AS geom FROM community WHERE code = :code)
    SELECT 'road' AS kind, r.name, ST_AsBinary(r.geom) AS geom
      FROM road r, area WHERE r.geom && area.geom
    UNION ALL
    SELECT 'river', v.name, ST_AsBinary(v.geom) FROM river v, area WHERE v.geom && area.geom
    """
)


def _geoframe(rows: pd.DataFrame, crs: CRS) -> gpd.GeoDataFrame:
    geometry = shapely.from_wkb(rows.pop("geom").map(bytes).to_numpy())
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=STORAGE_CRS).to_crs(crs)


def load_community(session: Session, code: str) -> CommunityFrames:
    """Read community ``code`` with its buildings, units, roads and rivers."""
    row = session.execute(
        text(
            "SELECT name, band_min, band_max, ST_AsBinary(geom) AS geom, "
            "ST_X(ST_Centroid(geom)) AS lon FROM community WHERE code = :code"
        ),
        {"code": code},
    ).one()
    crs = CRS.from_epsg(gk_zone_epsg(row.lon))
    boundary = gpd.GeoSeries([shapely.from_wkb(bytes(row.geom))], crs=STORAGE_CRS).to_crs(crs)
    conn = session.connection()
    buildings = _geoframe(pd.read_sql(BUILDINGS, conn, params={"code": code}), crs)
    buildings["compound_id"] = buildings["compound_id"].astype("Int64")
    units = pd.read_sql(UNITS, conn, params={"code": code})
    barriers = _geoframe(
        pd.read_sql(BARRIERS, conn, params={"code": code, "margin": BARRIER_MARGIN_DEG}), crs
    )
    return CommunityFrames(
        code=code,
        name=row.name,
        band=(row.band_min, row.band_max),
        crs=crs,
        boundary=boundary.iloc[0],
        buildings=buildings.set_index("building_id"),
        units=units,
        barriers=barriers,
    )
