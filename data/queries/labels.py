"""Name labels for the offline basemap: roads, the river, compounds and communities.

Vector tiles carry geometries but Leaflet.VectorGrid draws no text, so the residents' maps
place these labels themselves (``maps/static/wangge/basemap.js``), hiding those that would
overlap. One label per road name (at the middle of its longest piece of its highest level,
turned along it), per river, compound and community: a few hundred for a district, sent whole.
Coordinates are EPSG:4490 lon/lat; the angle is the road's direction on a Web Mercator map in
degrees clockwise from east, kept within (-90, 90] so the text never reads upside down.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from geo.offsets import Datum, convert

_LABELS = """
WITH longest AS (
  SELECT DISTINCT ON (name) name, level, geom FROM road
  ORDER BY name, array_position(ARRAY['trunk', 'primary', 'secondary'], level),
    ST_Length(ST_Transform(geom, 3857)) DESC
)
SELECT 'road', name, level,
  ST_X(ST_LineInterpolatePoint(geom, 0.5)), ST_Y(ST_LineInterpolatePoint(geom, 0.5)),
  degrees(ST_Azimuth(ST_Transform(ST_LineInterpolatePoint(geom, 0.45), 3857),
                     ST_Transform(ST_LineInterpolatePoint(geom, 0.55), 3857))) - 90
FROM longest
UNION ALL
SELECT 'water', name, NULL, ST_X(p), ST_Y(p), 0
FROM (SELECT name, ST_PointOnSurface(geom) AS p FROM river) r
UNION ALL
SELECT 'compound', name, NULL, ST_X(p), ST_Y(p), 0
FROM (SELECT name, ST_PointOnSurface(geom) AS p FROM compound) c
UNION ALL
SELECT 'community', name, NULL, ST_X(p), ST_Y(p), 0
FROM (SELECT name, ST_PointOnSurface(geom) AS p FROM community) c
"""


@dataclass(frozen=True)
class Label:
    kind: str  # road / water / compound / community
    name: str
    level: str | None  # a road's level: trunk, primary, secondary, local
    lon: float
    lat: float
    angle: float


def _upright(angle: float | None) -> float:
    """An angle in degrees turned by half-turns into (-90, 90]."""
    a = (angle or 0.0) % 180.0
    return round(a - 180.0 if a > 90.0 else a, 1)


async def labels(conn: AsyncConnection, datum: Datum | str = Datum.wgs84) -> list[Label]:
    """Every label of the basemap, positioned for a map drawn in ``datum``."""
    cur = await conn.execute(_LABELS)
    rows = await cur.fetchall()
    if not rows:
        return []
    xs, ys = [r[3] for r in rows], [r[4] for r in rows]
    if Datum(datum) is not Datum.wgs84:
        xs, ys = convert(xs, ys, Datum.wgs84, Datum(datum))
    return [
        Label(kind, name, level, round(float(x), 6), round(float(y), 6), _upright(angle))
        for (kind, name, level, _, _, angle), x, y in zip(rows, xs, ys, strict=True)
    ]
