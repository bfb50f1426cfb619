"""Mapbox vector tiles of the public layers, built by PostGIS (``ST_AsMVT``).

Layers: ``grids`` (grids of published plans), ``communities`` and ``streets`` (street offices).
Each carries only public attributes: codes, numbers and names. Tiles are in Web Mercator
(EPSG:3857) tile coordinates as every web map expects; the stored EPSG:4490 geometries are
transformed on the fly, and simplified to about a quarter of a tile pixel at low zooms.

The city-platform export reuses :func:`tile` and :data:`LAYERS`.
"""

from __future__ import annotations

from psycopg import AsyncConnection

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 20

# Per layer: the rows and their public attributes; ``geom`` is EPSG:4490.
LAYERS: dict[str, str] = {
    "grids": """
        SELECT g.geom, g.code, g.number, g.name, p.community_code AS community
        FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
    """,
    "communities": """
        SELECT c.geom, c.code, c.name, c.street_code AS street FROM community c
    """,
    "streets": """
        SELECT s.geom, s.code, s.name FROM street_office s
    """,
}

_TILE = """
WITH env AS (
  SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e,
         ST_Transform(ST_Expand(ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                                %(margin)s), 4490) AS e4490
),
rows AS ({rows}),
mvt AS (
  SELECT ST_AsMVTGeom(
           ST_SimplifyPreserveTopology(ST_Transform(rows.geom, 3857), %(tolerance)s),
           env.e, {extent}, {buffer}, true) AS mvtgeom,
         {columns}
  FROM rows, env
  WHERE rows.geom && env.e4490
)
SELECT ST_AsMVT(mvt, %(layer)s, {extent}, 'mvtgeom')
FROM mvt WHERE mvtgeom IS NOT NULL
"""

_COLUMNS = {
    "grids": "rows.code, rows.number, rows.name, rows.community",
    "communities": "rows.code, rows.name, rows.street",
    "streets": "rows.code, rows.name",
}

WORLD_M = 40075016.68557849


class TileOutOfRange(ValueError):
    """z/x/y outside the tile pyramid."""


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"zoom {z} outside 0–{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise TileOutOfRange(f"tile {z}/{x}/{y} outside the {n}×{n} tiles of zoom {z}")


async def tile(conn: AsyncConnection, layer: str, z: int, x: int, y: int) -> bytes:
    """One tile of ``layer`` as MVT bytes (empty bytes when nothing is there).

    Raises KeyError for an unknown layer and :class:`TileOutOfRange` for a bad z/x/y.
    """
    rows = LAYERS[layer]
    check_tile(z, x, y)
    tile_m = WORLD_M / (1 << z)
    sql = _TILE.format(rows=rows, extent=EXTENT, buffer=BUFFER, columns=_COLUMNS[layer])
    params = {
        "z": z,
        "x": x,
        "y": y,
        "layer": layer,
        "margin": tile_m * BUFFER / EXTENT,
        "tolerance": tile_m / EXTENT / 4,
    }
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
