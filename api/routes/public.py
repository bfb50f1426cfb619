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
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.auth import ViewerDep
from api.deps import NonceDep, PdfSlotsDep, PoolDep, SettingsDep
from api.ratelimit import LookupLimit
from api.templating import map_page, templates
from data.access.scope import Scope
from data.models import AccountRole
from data.queries import lookup, tiles
from data.replicas import ReadRouter
from data.settings import Settings
from maps import public
from maps.assets import STATIC_DIR
from maps.pdf import html_to_pdf
from maps.signboard import Surroundings, signboard_html

router = APIRouter(tags=["public pages"])

GridCode = Annotated[str, Path(pattern=r"^[0-9]{15}$", description="15-digit grid code")]
FALLBACK_CENTRE = (109.19, 27.72)  # Bijiang's centre, before data is loaded


def _basemap(settings: Settings) -> public.Basemap | None:
    return public.basemap(settings.basemap, tianditu_key=settings.tianditu_key)


async def _map_facts(pool: ReadRouter) -> tuple[public.View, int]:
    """The middle of the built-up area at street zoom, and the current version of the grid
    tiles (``/tiles/v/...``)."""
    async with pool.connection() as conn:
        lon, lat = await lookup.built_up_centre(conn) or FALLBACK_CENTRE
        return public.View(lon, lat), await tiles.latest_version(conn)


def _message(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "message.html", {"title": title, "message": message}, status
    )


def _not_found(request: Request, message: str) -> HTMLResponse:
    return _message(request, "没有找到该网格", message, 404)


UNCONFIGURED = (
    "未设置公开网址 WANGGE_PUBLIC_BASE_URL：公示牌上的二维码会指向本服务器的内部地址，"
    "居民扫码打不开。请管理员设置该项（例如 https://wangge.example.cn）后再打印。"
)


def _unprintable(request: Request, settings: Settings) -> HTMLResponse | None:
    """Outside development a signboard whose QR code would not reach the public site is
    refused (503, naming the setting) rather than printed."""
    if settings.public_base_url or settings.env == "development":
        return None
    return _message(request, "公示牌暂不能打印", UNCONFIGURED, 503)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The front door is the residents' page; staff find /login from it."""
    return RedirectResponse("/find", status_code=307)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """For browsers that ask before reading the page's icon link."""
    return FileResponse(STATIC_DIR / "wangge" / "favicon.svg", media_type="image/svg+xml")


@router.get("/find", response_class=HTMLResponse)
async def find_page(pool: PoolDep, settings: SettingsDep, nonce: NonceDep) -> HTMLResponse:
    """找网格员: search an address, tap the map or use the phone's location."""
    view, version = await _map_facts(pool)
    return map_page(public.resident_map(view, _basemap(settings), tiles_version=version), nonce)


@router.get("/g/{code}", response_class=HTMLResponse)
async def grid_page(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    nonce: NonceDep,
    code: str,
    viewer: ViewerDep,
) -> HTMLResponse:
    """A grid's public page (the signboard's QR code opens it), titled with the grid and its
    community so that a shared link names them; a Chinese 404 page for an unknown code. Staff
    logged in who may see this grid also get the links their role may use (a grid worker:
    the grid's household list)."""
    if not (len(code) == 15 and code.isascii() and code.isdigit()):
        return _not_found(request, "网格编码应为 15 位数字，请核对链接或二维码。")
    async with pool.connection() as conn:
        card = await lookup.card_for_grid(conn, code, geometry=False)
        version = await tiles.latest_version(conn)
    if card is None:
        return _not_found(request, f"没有编码为 {code} 的已发布网格，它可能已调整或撤销。")
    grid = json.loads(card)["grid"]
    x0, y0, x1, y1 = grid["bbox"]
    title = f"{public.grid_title(grid)} · {grid['community']['name']} · 找网格员"
    view = public.View((x0 + x1) / 2, (y0 + y1) / 2, public.STREET_ZOOM + 1)
    links = _staff_links(viewer, grid["community"]["code"], code)
    m = public.resident_map(
        view,
        _basemap(settings),
        grid_code=code,
        title=title,
        links=links,
        tiles_version=version,
    )
    return map_page(m, nonce)


def _staff_links(viewer: Scope | None, community: str, code: str) -> list[dict[str, str]]:
    if viewer is None or not viewer.sees_grid(community, code):
        return []
    links = []
    if viewer.role in (AccountRole.grid_worker, AccountRole.community_planner):
        households = f"/api/v1/communities/{community}/households?grid={code}"
        links.append({"href": households, "text": "本网格住户名单"})
    if viewer.can_plan:
        links.append({"href": f"/plan/{community}", "text": "网格规划"})
    return links


@router.get("/map", response_class=HTMLResponse)
async def district_page(pool: PoolDep, settings: SettingsDep, nonce: NonceDep) -> HTMLResponse:
    """All published grids of the district, drawn from vector tiles."""
    view, version = await _map_facts(pool)
    return map_page(public.district_map(view, _basemap(settings), tiles_version=version), nonce)


async def _signboard(request: Request, pool: ReadRouter, settings: Settings, code: str) -> str:
    async with pool.connection() as conn:
        card = await lookup.card_for_grid(conn, code, geometry=False)
        if card is None:
            raise lookup.UnknownGrid(f"没有已发布的网格 {code}")
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
        unconfigured=not settings.public_base_url,
        party_members=data["grid"]["community"]["code"] not in settings.party_members_hidden,
        compounds=facts.compounds,
        households=facts.households,
    )


@router.get("/g/{code}/signboard", response_class=HTMLResponse)
async def signboard_page(
    request: Request, pool: PoolDep, settings: SettingsDep, code: GridCode, _: LookupLimit
) -> HTMLResponse:
    """The grid's A4 signboard (公示牌) to print: map, area, staff and phones, QR code."""
    refused = _unprintable(request, settings)
    return refused or HTMLResponse(await _signboard(request, pool, settings, code))


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
    if refused := _unprintable(request, settings):
        return refused
    html = await _signboard(request, pool, settings, code)
    async with slots:
        pdf = await html_to_pdf(html)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="signboard-{code}.pdf"'},
    )
