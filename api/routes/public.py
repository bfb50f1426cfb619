"""The public pages: find my grid worker (``/find``, ``/g/{code}``), the district grid map
(``/map``), and each grid's signboard as an A4 page and a PDF.

No login; nothing here reads household data. The pages load their data from the lookup API
and the vector tiles, and every asset from ``/static``.
"""

from __future__ import annotations

import json
from typing import Annotated

import shapely
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import NonceDep, PdfSlotsDep, PoolDep, SettingsDep
from api.ratelimit import LookupLimit
from api.templating import map_page
from data.queries import lookup, tiles
from data.replicas import ReadRouter
from data.settings import Settings
from maps import public
from maps.pdf import html_to_pdf
from maps.signboard import Surroundings, signboard_html

router = APIRouter(tags=["public pages"])

GridCode = Annotated[str, Path(pattern=r"^[0-9]{15}$", description="15-digit grid code")]
FALLBACK_BOUNDS = (109.10, 27.65, 109.30, 27.80)  # Bijiang's centre, before data is loaded


def _basemap(settings: Settings) -> public.Basemap | None:
    return public.basemap(settings.basemap, tianditu_key=settings.tianditu_key)


async def _map_facts(pool: ReadRouter) -> tuple[tuple[float, float, float, float], int]:
    """The bounds of the data and the current version of its tiles (``/tiles/v/...``)."""
    async with pool.connection() as conn:
        bounds = await lookup.district_bounds(conn) or FALLBACK_BOUNDS
        return bounds, await tiles.latest_version(conn)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The front door is the residents' page; staff find /login from it."""
    return RedirectResponse("/find", status_code=307)


@router.get("/find", response_class=HTMLResponse)
async def find_page(pool: PoolDep, settings: SettingsDep, nonce: NonceDep) -> HTMLResponse:
    """找网格员: search an address, tap the map or use the phone's location."""
    bounds, version = await _map_facts(pool)
    return map_page(public.resident_map(bounds, _basemap(settings), tiles_version=version), nonce)


@router.get("/g/{code}", response_class=HTMLResponse)
async def grid_page(
    pool: PoolDep, settings: SettingsDep, nonce: NonceDep, code: GridCode
) -> HTMLResponse:
    """A grid's public page (the signboard's QR code opens it)."""
    bounds, version = await _map_facts(pool)
    return map_page(
        public.resident_map(bounds, _basemap(settings), grid_code=code, tiles_version=version),
        nonce,
    )


@router.get("/map", response_class=HTMLResponse)
async def district_page(pool: PoolDep, settings: SettingsDep, nonce: NonceDep) -> HTMLResponse:
    """All published grids of the district, drawn from vector tiles."""
    bounds, version = await _map_facts(pool)
    return map_page(public.district_map(bounds, _basemap(settings), tiles_version=version), nonce)


async def _signboard(request: Request, pool: ReadRouter, settings: Settings, code: str) -> str:
    async with pool.connection() as conn:
        card = await lookup.card_for_grid(conn, code, geometry=False)
        if card is None:
            raise lookup.UnknownGrid(f"没有已发布的网格 {code} (no published grid {code})")
        facts = await lookup.signboard_data(conn, code)
    assert facts is not None  # the card above found the same published grid
    data = json.loads(card)
    surroundings = Surroundings(
        grid=shapely.from_wkb(facts.grid_wkb),
        neighbours=[(n, shapely.from_wkb(w)) for n, w in facts.neighbours],
        roads=[(name, shapely.from_wkb(w)) for name, w in facts.roads],
        buildings=[shapely.from_wkb(w) for w in facts.buildings],
    )
    origin = settings.public_base_url or str(request.base_url)
    return signboard_html(
        data,
        surroundings,
        origin.rstrip("/") + f"/g/{code}",
        party_members=data["grid"]["community"]["code"] not in settings.party_members_hidden,
        compounds=facts.compounds,
        households=facts.households,
    )


@router.get("/g/{code}/signboard", response_class=HTMLResponse)
async def signboard_page(
    request: Request, pool: PoolDep, settings: SettingsDep, code: GridCode, _: LookupLimit
) -> HTMLResponse:
    """The grid's A4 signboard (公示牌) to print: map, area, staff and phones, QR code."""
    return HTMLResponse(await _signboard(request, pool, settings, code))


@router.get(
    "/g/{code}/signboard.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def signboard_pdf(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    slots: PdfSlotsDep,
    code: GridCode,
    _: LookupLimit,
) -> Response:
    """The same signboard as an A4 PDF, printed by headless Chromium."""
    html = await _signboard(request, pool, settings, code)
    async with slots:
        pdf = await html_to_pdf(html)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="signboard-{code}.pdf"'},
    )
