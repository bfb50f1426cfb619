"""A plan's layers as GeoJSON for the planner map (EPSG:4490 lon/lat, which Leaflet draws as
WGS84: the two differ by far less than a metre)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from data.models import GridPlan

LAYERS = {
    "grids": """
        SELECT g.number, g.code, g.name, t.households,
               ST_X(ST_PointOnSurface(g.geom)) AS label_lon,
               ST_Y(ST_PointOnSurface(g.geom)) AS label_lat, ST_AsGeoJSON(g.geom, 6) AS geom
        FROM grid g JOIN grid_tally t ON t.grid_id = g.id WHERE g.plan_id = :plan
        ORDER BY g.number
    """,
    "published": """
        SELECT g.number, g.code, ST_AsGeoJSON(g.geom, 6) AS geom
        FROM grid g JOIN grid_plan p ON p.id = g.plan_id
        WHERE p.community_code = :code AND p.status = 'published' AND p.id <> :plan
    """,
    "buildings": """
        SELECT b.id, b.name, b.road || b.door_number AS address, coalesce(c.name, '') AS compound,
               (SELECT count(*) FROM household h WHERE h.building_id = b.id)::int AS households,
               (SELECT string_agg(DISTINCT g.number::text, ',') FROM grid_member m
                  JOIN grid g ON g.id = m.grid_id
                  WHERE m.plan_id = :plan AND m.building_id = b.id) AS grid,
               (SELECT string_agg(DISTINCT g.number::text, ',') FROM grid_member m
                  JOIN grid g ON g.id = m.grid_id JOIN grid_plan p ON p.id = m.plan_id
                  WHERE p.community_code = :code AND p.status = 'published'
                    AND m.building_id = b.id) AS published_grid,
               ST_AsGeoJSON(b.geom, 6) AS geom
        FROM building b LEFT JOIN compound c ON c.id = b.compound_id
        WHERE b.community_code = :code
    """,
    "compounds": """
        SELECT id, name, ST_AsGeoJSON(geom, 6) AS geom FROM compound WHERE community_code = :code
    """,
    "roads": """
        SELECT r.name, r.level, ST_AsGeoJSON(ST_Intersection(r.geom, ST_Expand(c.geom, 0.002)), 6)
               AS geom
        FROM road r, community c WHERE c.code = :code AND r.geom && ST_Expand(c.geom, 0.002)
    """,
    "rivers": """
        SELECT v.name, ST_AsGeoJSON(ST_Intersection(v.geom, ST_Expand(c.geom, 0.002)), 6) AS geom
        FROM river v, community c WHERE c.code = :code AND v.geom && ST_Expand(c.geom, 0.002)
    """,
    "community": """
        SELECT code, name, ST_AsGeoJSON(geom, 6) AS geom FROM community WHERE code = :code
    """,
}


def _collection(rows) -> dict[str, Any]:
    features = []
    for row in rows:
        props = dict(row)
        geometry = json.loads(props.pop("geom"))
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def plan_layers(session: Session, plan: GridPlan) -> dict[str, dict[str, Any]]:
    """GeoJSON FeatureCollections of a plan and its community, by layer name."""
    params = {"plan": plan.id, "code": plan.community_code}
    return {
        name: _collection(session.execute(text(sql), params).mappings())
        for name, sql in LAYERS.items()
    }


STREET_GRIDS = """
SELECT c.code AS community, c.name AS community_name, g.number, g.code, g.name,
       t.households, p.status::text AS status,
       CASE WHEN t.households < c.band_min THEN 'under'
            WHEN t.households > c.band_max THEN 'over' ELSE 'in_band' END AS load,
       ST_AsGeoJSON(g.geom, 6) AS geom
FROM community c
JOIN grid_plan p ON p.community_code = c.code AND p.id = coalesce(
  (SELECT id FROM grid_plan WHERE community_code = c.code AND status = 'draft'),
  (SELECT id FROM grid_plan WHERE community_code = c.code AND status = 'published'))
JOIN grid g ON g.plan_id = p.id JOIN grid_tally t ON t.grid_id = g.id
WHERE c.street_code = :street AND c.code = ANY(:codes)
ORDER BY c.code, g.number
"""
STREET_COMMUNITIES = """
SELECT code, name, ST_AsGeoJSON(geom, 6) AS geom FROM community
WHERE street_code = :street AND code = ANY(:codes) ORDER BY code
"""


def street_layers(session: Session, street: str, codes: list[str]) -> dict[str, dict[str, Any]]:
    """Grids (each community's draft, else its published plan) and community outlines of a
    street office, limited to the communities ``codes``."""
    params = {"street": street, "codes": codes}
    return {
        "grids": _collection(session.execute(text(STREET_GRIDS), params).mappings()),
        "communities": _collection(session.execute(text(STREET_COMMUNITIES), params).mappings()),
    }
