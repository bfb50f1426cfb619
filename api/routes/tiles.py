"""Vector tiles of the public layers: ``/tiles/{layer}/{z}/{x}/{y}.pbf``.

Grids of published plans, communities and street offices, with public attributes only
(``data/queries/tiles.py``). Used by the district map and the residents' page, and by city
platforms.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import PoolDep
from data.queries import tiles
from geo.offsets import Datum

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
Layer = Literal["grids", "communities", "streets"]


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
