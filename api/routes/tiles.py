"""Vector tiles of the public layers: ``/tiles/{layer}/{z}/{x}/{y}.pbf``.

Grids of published plans, communities and street offices, with public attributes only
(``data/queries/tiles.py``), each its own layer for city platforms (TileJSON) and the staff
pages, and all three in one tile (``overlay``). The district map and the residents' page draw
``/tiles/v/{version}/overlay/…``: one request per map tile, cached for good. ``basemap`` is the
residents' offline basemap (rivers, compounds, buildings, roads) and ``/tiles/labels.json`` the
names to write on it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import PoolDep
from data.queries import labels, lookup, tiles
from data.replicas import ReadRouter
from geo.offsets import Datum

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
EMPTY_BOUNDS = (109.10, 27.65, 109.30, 27.80)  # Bijiang's centre, before data is loaded
Layer = Literal["grids", "communities", "streets", "overlay", "basemap"]
VersionedLayer = Literal["overlay"]
"""What the map pages draw from versioned URLs: the grids of a version, with the outlines."""
IMMUTABLE = "public, max-age=31536000, immutable"
Version = Annotated[
    int, Path(ge=0, le=2**62, description="plan version: the /map page's current one")
]


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "Mapbox vector tile (EPSG:3857)"}},
)
async def vector_tile(
    pool: PoolDep, layer: Layer, z: int, x: int, y: int, coordsys: Datum = Datum.wgs84
) -> Response:
    """One Mapbox vector tile of a public layer; empty (204) where the layer has nothing.

    ``coordsys=gcj02`` (AMap, Tencent) or ``bd09`` (Baidu) shifts the features so that they
    line up with a basemap drawn in that datum.
    """
    async with pool.connection() as conn:
        body = await tiles.tile_in_datum(conn, layer, z, x, y, coordsys)
    headers = {"Cache-Control": "public, max-age=300"}
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MVT, headers=headers)


@router.get(
    "/tiles/v/{version}/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}, "description": "Mapbox vector tile (EPSG:3857)"},
        404: {"description": "no such version"},
    },
)
async def versioned_tile(
    request: Request,
    pool: PoolDep,
    version: Version,
    layer: VersionedLayer,
    z: int,
    x: int,
    y: int,
    coordsys: Datum = Datum.wgs84,
) -> Response:
    """The overlay tile with the grids as published at ``version`` (the instant of a
    publication, as the map pages name it): it never changes, so browsers keep it
    (``immutable``, ``ETag``) and each server process keeps it in memory. An old version's URL
    keeps giving the old tile."""
    etag = f'"{version}-{layer}-{coordsys.value}-{z}-{x}-{y}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    cache = request.app.state.tile_cache
    key = (version, layer, coordsys, z, x, y)
    body = cache.get(key)
    if body is None:
        tiles.check_tile(z, x, y)
        body = await _render_version(pool, version, layer, z, x, y, coordsys)
        cache.put(key, body)
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MVT, headers=headers)


async def _render_version(
    pool: ReadRouter, version: int, layer: str, z: int, x: int, y: int, coordsys: Datum
) -> bytes:
    """The tile from a replica, or from the primary when the replica (within its lag bound)
    has not replayed that publication yet; UnknownVersion when no server knows it."""
    for primary in (False, True):
        async with pool.connection(primary=primary) as conn:
            if await tiles.is_version(conn, version):
                return await tiles.tile_in_datum(conn, layer, z, x, y, coordsys, version)
    raise tiles.UnknownVersion(f"没有版本 {version} 的网格图层 (no such version)")


class Label(BaseModel):
    kind: Literal["road", "water", "compound", "community"]
    name: str
    level: str | None = Field(None, description="a road's level: trunk, primary, secondary, local")
    lon: float
    lat: float
    angle: float = Field(description="degrees clockwise from east, for text along a road")


@router.get("/tiles/labels.json", response_model=list[Label])
async def basemap_labels(pool: PoolDep, coordsys: Datum = Datum.wgs84) -> Response:
    """The names of roads, the river, compounds and communities, placed for the basemap."""
    async with pool.connection() as conn:
        found = await labels.labels(conn, coordsys)
    body = json.dumps([asdict(label) for label in found], ensure_ascii=False)
    return Response(
        body, media_type="application/json", headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/tiles/{layer}.json")
async def tile_json(
    request: Request, pool: PoolDep, layer: Layer, coordsys: Datum = Datum.wgs84
) -> JSONResponse:
    """TileJSON 3.0 of a tile layer (its URL template, zooms, bounds and fields), for clients
    that take one: MapLibre, QGIS, GDAL's MVT driver."""
    async with pool.connection() as conn:
        bounds = await lookup.district_bounds(conn) or EMPTY_BOUNDS
    suffix = "" if coordsys is Datum.wgs84 else f"?coordsys={coordsys.value}"
    url = str(request.base_url).rstrip("/") + f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf{suffix}"
    return JSONResponse(tiles.tilejson(layer, url, bounds))
