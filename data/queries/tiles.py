"""Mapbox vector tiles of the public layers, built by PostGIS (``ST_AsMVT``).

Layers: ``grids`` (grids of published plans), ``communities`` and ``streets`` (street offices).
Each carries only public attributes: codes, numbers and names. ``overlay`` is the three in one
tile (``streets``, ``communities``, ``grids``, in that drawing order), what the public maps draw:
one request per map tile instead of three. ``basemap`` is the residents'
offline basemap drawn from Wangge's own data: one tile holding the layers ``water`` (rivers),
``compounds`` (小区, with their names), ``buildings`` (footprints and their kind, from zoom 15) and
``roads`` (name and level), in that drawing order. Tiles are in Web Mercator
(EPSG:3857) tile coordinates as every web map expects; the stored EPSG:4490 geometries are
transformed on the fly, and simplified to about a quarter of a tile pixel at low zooms.

The city-platform export reuses :func:`tile` and :data:`LAYERS`.
"""

from __future__ import annotations

import morecantile
import shapely
from morecantile import Tile
from psycopg import AsyncConnection

from data.queries.lookup import NotFound
from geo.offsets import Datum, convert, transform_geometry

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 20
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
"""The tile grid every web map uses (EPSG:3857, OGC's WebMercatorQuad)."""

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
    "water": """
        SELECT r.geom, r.name FROM river r
    """,
    "compounds": """
        SELECT cp.geom, cp.name FROM compound cp
    """,
    "buildings": """
        SELECT b.geom, b.kind::text AS kind FROM building b
    """,
    "roads": """
        SELECT r.geom, r.name, r.level FROM road r
    """,
}

# The grids published at a version (a publication instant, in microseconds since the epoch):
# per community, the plan published last at or before it. Publishing archives the previous
# plan and stamps ``published_at`` in one transaction, so past versions stay reconstructible.
GRIDS_AT_VERSION = """
    SELECT g.geom, g.code, g.number, g.name, p.community_code AS community
    FROM grid g JOIN (
      SELECT DISTINCT ON (community_code) id, community_code FROM grid_plan
      WHERE status IN ('published', 'archived')
        AND coalesce(published_at, '-infinity') <= %(at)s
      ORDER BY community_code, coalesce(published_at, '-infinity') DESC,
               status = 'published' DESC, version DESC
    ) p ON p.id = g.plan_id
"""
_VERSION_AT = "timestamptz 'epoch' + %(version)s * interval '1 microsecond'"

LATEST_VERSION = """
SELECT coalesce((extract(epoch FROM max(published_at)) * 1000000)::bigint, 0)
FROM grid_plan WHERE published_at IS NOT NULL
"""


async def latest_version(conn: AsyncConnection) -> int:
    """The version of the public layers now: the instant of the latest publication (0: none)."""
    [(version,)] = await (await conn.execute(LATEST_VERSION)).fetchall()
    return int(version)


async def is_version(conn: AsyncConnection, version: int) -> bool:
    """Whether ``version`` names a publication (so its tiles exist and never change)."""
    if version == 0:
        return await latest_version(conn) == 0
    cur = await conn.execute(
        f"SELECT 1 FROM grid_plan WHERE published_at = {_VERSION_AT} LIMIT 1",
        {"version": version},
    )
    return await cur.fetchone() is not None


def _source(layer: str, version: int | None) -> tuple[str, dict]:
    """The rows of ``layer`` (now, or at ``version`` for grids) and their parameters."""
    if version is None or layer != "grids":
        return LAYERS[layer], {}
    return GRIDS_AT_VERSION.replace("%(at)s", _VERSION_AT), {"version": version}


#: Tiles made of several layers, drawn in this order.
COMPOSITES: dict[str, tuple[str, ...]] = {
    "overlay": ("streets", "communities", "grids"),
    "basemap": ("water", "compounds", "buildings", "roads"),
}
#: Layers left out of tiles below a zoom: they would be unreadable specks and heavy tiles.
MIN_ZOOM: dict[str, int] = {"compounds": 13, "buildings": 15}

_TILE = """
WITH env AS (
  SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e,
         ST_Transform(ST_Expand(ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                                %(margin)s), 4490) AS e4490
),
rows AS ({rows}),
mvt AS (
  SELECT ST_AsMVTGeom(
           ST_SimplifyPreserveTopology(ST_Transform({geom}, 3857), %(tolerance)s),
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
    "water": "rows.name",
    "compounds": "rows.name",
    "buildings": "rows.kind",
    "roads": "rows.name, rows.level",
}


#: Layers of features much smaller than a tile, transformed whole. The others are cut to the
#: tile (with its buffer) first: a street office, a river or a road crosses many tiles, and
#: transforming and simplifying all of it for each one cost most of a tile's time (5-8 ms of a
#: z15 tile's streets, water or roads; under 1 ms cut). Cutting every building cost more than it
#: saved. ST_AsMVTGeom clips at the same buffer, so the tiles show the same.
UNCUT = {"buildings"}


class TileOutOfRange(ValueError):
    """z/x/y outside the tile pyramid."""


class UnknownVersion(NotFound):
    """A tile version that names no publication."""


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"缩放级别 {z} 超出范围 0–{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise TileOutOfRange(f"瓦片 {z}/{x}/{y} 超出第 {z} 级的 {n}×{n} 个瓦片")


async def tile(
    conn: AsyncConnection, layer: str, z: int, x: int, y: int, version: int | None = None
) -> bytes:
    """One tile of ``layer`` as MVT bytes (empty bytes when nothing is there); the grids as
    published at ``version`` when given (see :func:`latest_version`), else now.

    Raises KeyError for an unknown layer and :class:`TileOutOfRange` for a bad z/x/y.
    """
    check_tile(z, x, y)
    rows, params = _source(layer, version)
    return await _render(conn, rows, layer, z, x, y, params)


async def _render(
    conn: AsyncConnection, rows: str, layer: str, z: int, x: int, y: int, params: dict
) -> bytes:
    """Encode ``rows`` (a SQL source of geometries and attributes) as the MVT tile z/x/y."""
    box = WEB_MERCATOR.xy_bounds(Tile(x, y, z))
    tile_m = box.right - box.left
    geom = "rows.geom" if layer in UNCUT else "ST_ClipByBox2D(rows.geom, env.e4490)"
    sql = _TILE.format(rows=rows, geom=geom, extent=EXTENT, buffer=BUFFER, columns=_COLUMNS[layer])
    params = params | {
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


_ATTRS = {
    "grids": ("code", "number", "name", "community"),
    "communities": ("code", "name", "street"),
    "streets": ("code", "name"),
    "water": ("name",),
    "compounds": ("name",),
    "buildings": ("kind",),
    "roads": ("name", "level"),
}

_ROWS_IN = """
SELECT ST_AsBinary(rows.geom), {columns}
FROM ({rows}) rows
WHERE rows.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4490)
"""

_SHIFTED = """
SELECT ST_SetSRID(ST_GeomFromWKB(t.wkb), 4490) AS geom, {typed}
FROM unnest(%(wkb)s::bytea[], {arrays}) AS t(wkb, {names})
"""


def _lonlat_bounds(z: int, x: int, y: int, margin: float) -> tuple[float, float, float, float]:
    """The tile's longitude/latitude bounds, widened by ``margin`` of its size on each side."""
    lon0, lat0, lon1, lat1 = WEB_MERCATOR.bounds(Tile(x, y, z))
    dx, dy = (lon1 - lon0) * margin, (lat1 - lat0) * margin
    return lon0 - dx, lat0 - dy, lon1 + dx, lat1 + dy


async def tile_in_datum(
    conn: AsyncConnection,
    layer: str,
    z: int,
    x: int,
    y: int,
    datum: Datum | str,
    version: int | None = None,
) -> bytes:
    """A tile for a basemap drawn in ``datum`` (GCJ-02 for AMap/Tencent, BD-09 for Baidu).

    The stored geometries are shifted into ``datum`` on their way into the tile (with
    :mod:`geo.offsets`), so they line up with that basemap; the stored data is never changed.
    """
    datum = Datum(datum)
    if layer in COMPOSITES:
        # An MVT tile is a sequence of layers: the parts' bytes simply concatenate.
        check_tile(z, x, y)
        parts = [p for p in COMPOSITES[layer] if z >= MIN_ZOOM.get(p, 0)]
        return b"".join([await tile_in_datum(conn, p, z, x, y, datum, version) for p in parts])
    if datum is Datum.wgs84:
        return await tile(conn, layer, z, x, y, version)
    rows, source_params = _source(layer, version)
    check_tile(z, x, y)
    # The tile's area in the basemap's datum, brought back to stored coordinates (+ margin).
    bx0, by0, bx1, by1 = _lonlat_bounds(z, x, y, BUFFER / EXTENT + 0.01)
    xs, ys = convert([bx0, bx1], [by0, by1], datum, Datum.wgs84)
    names = _ATTRS[layer]
    cur = await conn.execute(
        _ROWS_IN.format(rows=rows, columns=", ".join(f"rows.{c}" for c in names)),
        {"x0": float(xs[0]), "y0": float(ys[0]), "x1": float(xs[1]), "y1": float(ys[1])}
        | source_params,
    )
    found = await cur.fetchall()
    if not found:
        return b""
    geoms = transform_geometry(shapely.from_wkb([bytes(r[0]) for r in found]), Datum.wgs84, datum)
    types = {"number": "int"}
    params = {"wkb": [bytes(w) for w in shapely.to_wkb(geoms)]}
    for i, name in enumerate(names, start=1):
        params[name] = [r[i] for r in found]
    shifted = _SHIFTED.format(
        typed=", ".join(f"t.{n}" for n in names),
        arrays=", ".join(f"%({n})s::{types.get(n, 'text')}[]" for n in names),
        names=", ".join(names),
    )
    return await _render(conn, shifted, layer, z, x, y, params)


def tilejson(layer: str, url: str, bounds: tuple[float, float, float, float]) -> dict:
    """A TileJSON 3.0 document for ``layer``'s tiles at ``url`` (with ``{z}/{x}/{y}``): its
    zooms, the data's bounds and centre (lon/lat), and each vector layer with its fields."""
    parts = COMPOSITES.get(layer, (layer,))
    lon0, lat0, lon1, lat1 = bounds
    return {
        "tilejson": "3.0.0",
        "name": layer,
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [lon0, lat0, lon1, lat1],
        "center": [(lon0 + lon1) / 2, (lat0 + lat1) / 2, 14],
        "vector_layers": [
            {
                "id": part,
                "fields": {name: "String" for name in _ATTRS[part]},
                "minzoom": MIN_ZOOM.get(part, 0),
                "maxzoom": MAX_ZOOM,
            }
            for part in parts
        ],
    }
