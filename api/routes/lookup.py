"""Residents' lookup: which grid, and whom to call, for a point, an address or a grid code.

The handlers are async and forward the JSON that PostgreSQL builds (see ``data/queries/lookup.py``)
through the app's psycopg pool; the response models below document it and the tests validate
against them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import PoolDep, get_public_pool
from api.query import query_of, query_parameters
from api.ratelimit import LookupLimit, limit_lookups
from data.models import StaffRole
from data.queries import lookup
from geo.address import parse_address
from geo.offsets import convert
from geo.points import Datum, from_datum, to_datum_geojson

router = APIRouter(tags=["lookup"])


class Community(BaseModel):
    code: str
    name: str
    office_address: str | None = None
    office_phone: str | None = None


class Street(BaseModel):
    code: str
    name: str


class Grid(BaseModel):
    code: str
    number: int
    name: str
    description: str | None = None
    bbox: list[float]
    community: Community
    street: Street


class StaffEntry(BaseModel):
    role: StaffRole
    name: str
    phone: str | None = None
    organisation: str | None = None
    party_member: bool


class Leader(BaseModel):
    name: str
    phone: str | None = None


class Building(BaseModel):
    name: str
    road: str
    door_number: str
    compound: str | None = None


class Match(BaseModel):
    kind: str
    name: str
    score: float
    exact: bool


class LookupResult(BaseModel):
    """The public answer: the grid, its staff (no household data), the building's
    liaison leaders when the building is known, and optionally the boundary (GeoJSON)."""

    grid: Grid
    staff: list[StaffEntry]
    building: Building | None = None
    liaison_leaders: list[Leader]
    boundary: dict | None = None
    coordsys: Datum = Datum.wgs84
    match: Match | None = None


class NotFoundDetail(BaseModel):
    detail: str
    nearest_community: Community | None = None
    distance_m: int | None = None
    suggestions: list[str] | None = Field(
        None, description="a number that does not exist: the nearest addresses that do"
    )


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": LookupResult},
    400: {"description": "bad input, with a message"},
    404: {"model": NotFoundDetail},
    429: {"description": "too many lookups from this client"},
}


def _respond(card: str, datum: Datum, geometry: bool, extra: dict | None = None) -> Response:
    """Forward PostgreSQL's JSON; re-encode only when coordinates must be converted."""
    if datum is Datum.wgs84 and not extra:
        body = card[:-1] + ',"coordsys":"wgs84"}'
        return Response(body, media_type="application/json")
    data = json.loads(card)
    data["coordsys"] = datum.value
    if datum is not Datum.wgs84:
        x0, y0, x1, y1 = data["grid"]["bbox"]
        (ax, bx), (ay, by) = convert([x0, x1], [y0, y1], Datum.wgs84, datum)
        data["grid"]["bbox"] = [round(float(v), 6) for v in (ax, ay, bx, by)]
        if geometry and data.get("boundary"):
            data["boundary"] = to_datum_geojson(data["boundary"], datum)
    data.update(extra or {})
    return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")


class LookupQuery(BaseModel):
    """The lookup's query parameters (read with :func:`api.deps.query_of`)."""

    lon: float | None = Field(None, description="经度 longitude")
    lat: float | None = Field(None, description="纬度 latitude")
    coordsys: Datum = Field(
        Datum.wgs84,
        description="datum of lon/lat and of the answer: wgs84 (also CGCS2000), "
        "gcj02 (AMap, Tencent, most phones) or bd09 (Baidu)",
    )
    q: str | None = Field(
        None, description="address: road + door number, or compound + building + unit"
    )
    geometry: bool = Field(False, description="include the boundary as GeoJSON")


@router.get(
    "/lookup",
    responses=RESPONSES,
    response_class=Response,
    openapi_extra=query_parameters(LookupQuery),
)
async def lookup_grid(request: Request) -> Response:
    """The published grid serving a point (``lon``/``lat``) or an address (``q``): its code,
    number, name and community, and the staff to call with their work phones.

    A point outside every published grid is answered 404 with the nearest community.
    """
    await limit_lookups(request)
    query = query_of(LookupQuery, request)
    reads = get_public_pool(request)
    lon, lat, datum, geometry = query.lon, query.lat, query.coordsys, query.geometry
    if query.q is not None:
        if lon is not None or lat is not None:
            raise lookup.BadLookup("请只给出地址 q 或坐标 lon/lat 之一")
        address = parse_address(query.q)
        async with reads.connection() as conn:
            found = await lookup.card_for_address(conn, address, geometry=geometry)
        if found is None:
            raise lookup.UnknownAddress(f"未找到地址“{address.text}”，请核对路名或小区名")
        card, match = found
        return _respond(card, datum, geometry, {"match": match.__dict__})
    if lon is None or lat is None:
        raise lookup.BadLookup("请给出地址 q，或经纬度 lon 与 lat")
    x, y = from_datum(lon, lat, datum)
    async with reads.connection() as conn:
        at_point = await lookup.card_at_point(conn, x, y, geometry=geometry)
        if at_point is None:
            raise lookup.NotCovered(await lookup.nearest_community(conn, x, y))
    return _respond(at_point, datum, geometry)


@router.get("/lookup/grids/{code}", responses=RESPONSES, response_class=Response)
async def lookup_grid_code(
    pool: PoolDep,
    _: LookupLimit,
    code: str,
    coordsys: Datum = Datum.wgs84,
    geometry: bool = True,
) -> Response:
    """The public card of one published grid, by its 15-digit code (the signboard's QR code
    opens the page that reads this)."""
    if not (len(code) == 15 and code.isascii() and code.isdigit()):
        raise lookup.BadLookup("网格编码应为 15 位数字")
    async with pool.connection() as conn:
        card = await lookup.card_for_grid(conn, code, geometry=geometry)
    if card is None:
        raise lookup.UnknownGrid(f"没有已发布的网格 {code}")
    return _respond(card, coordsys, geometry)
