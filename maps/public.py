"""The public maps: the residents' "find my grid worker" page and the district grid map.

Both are ``folium.Map`` objects built from plain values (where to open, a basemap choice); the
grids come from the app's vector tiles (``/tiles/v/{version}/overlay/{z}/{x}/{y}.pbf``: grids,
communities and streets in one tile) and the answers from
``/api/v1/lookup``, so the pages are small and draw fast at district scale. The default basemap
is Wangge's own, drawn from its data (``/tiles/basemap/…`` and ``/tiles/labels.json``, see
``maps/static/wangge/basemap.js``), so the pages work offline; Tianditu, AMap and Tencent raster
tiles are options. Every script and stylesheet is served by the app (:mod:`maps.assets`,
``maps/static/wangge``); the pages' own scripts are files, never inline.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from geo.offsets import Datum, convert
from maps.assets import local_map, vector_grid
from maps.render import Text, figure_of

TEMPLATES = Path(__file__).parent / "templates"

STREET_ZOOM = 15
"""The zoom the maps open at: street names and buildings are legible."""


@dataclass(frozen=True)
class View:
    """Where a map opens: a centre (EPSG:4490 lon/lat) and a zoom."""

    lon: float
    lat: float
    zoom: int = STREET_ZOOM


@dataclass(frozen=True)
class Basemap:
    """A basemap; ``datum`` is the datum its tiles are drawn in. ``vector``: Wangge's own,
    from its vector tiles, drawn by ``basemap.js`` (no tile layer from folium)."""

    name: str
    url: str
    attribution: str
    datum: str = "wgs84"
    subdomains: str = "abc"
    overlay_url: str | None = None  # e.g. Tianditu's annotation layer
    vector: bool = False


WANGGE = Basemap("wangge", "/tiles/basemap/{z}/{x}/{y}.pbf", "底图 © 网格 Wangge", vector=True)
LABELS_URL = "/tiles/labels.json"
FAVICON = "/static/wangge/favicon.svg"


def basemap(name: str, *, tianditu_key: str | None = None) -> Basemap | None:
    """The basemap called ``name``: ``wangge`` (its own, offline), ``none`` (None: no
    basemap), ``tianditu`` (needs a key), ``amap`` or ``tencent`` (both GCJ-02). Raises
    ValueError for an unknown name or a missing key."""
    if name == "wangge":
        return WANGGE
    if name == "none":
        return None
    if name == "tianditu":
        if not tianditu_key:
            raise ValueError("天地图底图需要密钥，请设置 WANGGE_TIANDITU_KEY")
        wmts = (
            "https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + tianditu_key
        )
        return Basemap(
            "tianditu",
            wmts % ("vec", "vec"),
            "© 天地图 Tianditu",
            subdomains="01234567",
            overlay_url=wmts % ("cva", "cva"),
        )
    if name == "amap":
        return Basemap(
            "amap",
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}",
            "© 高德地图 AMap",
            datum="gcj02",
            subdomains="1234",
        )
    if name == "tencent":
        return Basemap(
            "tencent",
            "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&type=vector&styleid=0",
            "© 腾讯地图 Tencent",
            datum="gcj02",
            subdomains="0123",
        )
    raise ValueError(f"unknown basemap {name!r}: wangge, none, tianditu, amap or tencent")


def _base(view: View, base: Basemap | None) -> folium.Map:
    """The map at ``view`` with a raster basemap if one is configured; zoom buttons, the scale
    bar, the attribution and Wangge's own basemap are added by ``basemap.js``."""
    lon, lat = view.lon, view.lat
    if base is not None and base.datum != "wgs84":
        lon, lat = (float(v) for v in convert(lon, lat, Datum.wgs84, Datum(base.datum)))
    m = local_map(
        widgets=False,
        location=[lat, lon],
        zoom_start=view.zoom,
        tiles=None,
        control_scale=False,
        prefer_canvas=True,
        min_zoom=9,
        max_zoom=19,
        zoom_control=False,
    )
    if base is not None and not base.vector:
        folium.TileLayer(
            base.url, attr=base.attribution, name=base.name, subdomains=base.subdomains
        ).add_to(m)
        if base.overlay_url:
            folium.TileLayer(
                base.overlay_url, attr=base.attribution, subdomains=base.subdomains, overlay=True
            ).add_to(m)
    return m


def _tiles_url(layer: str, datum: str, version: int | None = None) -> str:
    """The tiles of ``layer``; with ``version``, the immutable (cached) tiles of that plan
    version."""
    suffix = "" if datum == "wgs84" else f"?coordsys={datum}"
    prefix = "/tiles" if version is None else f"/tiles/v/{version}"
    return f"{prefix}/{layer}/{{z}}/{{x}}/{{y}}.pbf{suffix}"


GRID_STYLE = {
    "weight": 1,
    "color": "#c0392b",
    "opacity": 0.55,
    "dashArray": "4 3",
    "fill": True,
    "fillOpacity": 0.02,
}
# Outlines only: ``wg-outline`` (public.css) lets clicks through them to the grids.
COMMUNITY_STYLE = {
    "weight": 2,
    "color": "#6c3483",
    "opacity": 0.7,
    "fill": False,
    "className": "wg-outline",
}
STREET_STYLE = {
    "weight": 4,
    "color": "#8e44ad",
    "fill": False,
    "opacity": 0.35,
    "className": "wg-outline",
}
OVERLAY_STYLES = {"streets": STREET_STYLE, "communities": COMMUNITY_STYLE, "grids": GRID_STYLE}
"""Per layer of an ``overlay`` tile, which holds them in this drawing order: the grids last,
on top, where they take the clicks."""


def _overlay(m: folium.Map, datum: str, version: int | None = None) -> str:
    """Add the streets, communities and grids as one tile layer; return its JS name.

    One vector tile per map tile holds all three (``/tiles/…/overlay/…``), so a first view asks
    for about 35 overlay tiles rather than 105: the browser opens only six connections to the
    app, and the grids a resident looks for are drawn sooner. Added before the basemap, so its
    tiles are asked for first; ``zIndex`` keeps it above the basemap all the same."""
    overlay = vector_grid(
        _tiles_url("overlay", datum, version),
        "overlay",
        {
            "vectorTileLayerStyles": OVERLAY_STYLES,
            "interactive": True,
            "maxNativeZoom": 18,
            "zIndex": 3,
            "className": "wg-overlay",
        },
    )
    overlay.add_to(m)
    return overlay.get_name()


class _Page(MacroElement):
    """Page chrome and behaviour from a Jinja template in ``maps/templates``.

    The template escapes every value it shows (autoescape), and ``values_json`` is safe inside
    a ``<script>`` (``<``, ``>``, ``&`` and ``'`` as JSON escapes), so names read as text.
    """

    def __init__(self, template: str, **values) -> None:
        super().__init__()
        self._name = "WanggePage"
        self._template = Template(
            (TEMPLATES / template).read_text(encoding="utf-8"), autoescape=True
        )
        self.values = values
        self.values_json = htmlsafe_json_dumps(values, ensure_ascii=False)
        # For a data attribute: plain JSON text, which autoescaping escapes there.
        self.values_attr = json.dumps(values, ensure_ascii=False)


def page_head(m: folium.Map, title: str) -> None:
    """The page's title (escaped), the phone viewport and the favicon."""
    root = figure_of(m)
    root.header.add_child(Text(f"<title>{html.escape(title)}</title>"), name="title")
    root.header.add_child(
        Text('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        name="viewport_zh",
    )
    root.header.add_child(Text(f'<link rel="icon" href="{FAVICON}">'), name="favicon")


def grid_title(grid: dict) -> str:
    """ "第3网格 · 锦江片区", or just "第3网格" when that is its name (no "第3网格 · 第3网格")."""
    numbered = f"第{grid['number']}网格"
    return numbered if grid["name"] == numbered else f"{numbered} · {grid['name']}"


def _furniture(base: Basemap | None) -> dict:
    """What ``basemap.js`` needs: whether to draw Wangge's own basemap, and its URLs."""
    tiles = base.url if base is not None and base.vector else None
    return {"own": tiles is not None, "tiles": tiles, "labels": LABELS_URL}


def resident_map(
    view: View,
    base: Basemap | None = None,
    *,
    grid_code: str | None = None,
    title: str = "找网格员 · 网格 Wangge",
    links: list[dict[str, str]] | None = None,
    tiles_version: int | None = None,
) -> folium.Map:
    """The residents' page: search an address, tap the map or use the phone's location to find
    the grid and its workers; ``grid_code`` opens with that grid shown (the signboard QR);
    ``links`` (``href``, ``text``) are for the staff member viewing it."""
    datum = base.datum if base else "wgs84"
    m = _base(view, base)
    _overlay(m, datum, tiles_version)
    page_head(m, title)
    _Page(
        "resident.html",
        map=m.get_name(),
        datum=datum,
        grid_code=grid_code,
        basemap=_furniture(base),
        links=links or [],
    ).add_to(m)
    return m


def district_map(
    view: View, base: Basemap | None = None, *, tiles_version: int | None = None
) -> folium.Map:
    """All published grids of the district from vector tiles, with communities and streets;
    clicking a grid shows its number and name and links to its public page."""
    datum = base.datum if base else "wgs84"
    m = _base(view, base)
    overlay = _overlay(m, datum, tiles_version)
    page_head(m, "网格地图 · 网格 Wangge")
    _Page(
        "district.html", map=m.get_name(), datum=datum, overlay=overlay, basemap=_furniture(base)
    ).add_to(m)
    return m
