"""The public maps: the residents' "find my grid worker" page and the district grid map.

Both are ``folium.Map`` objects built from plain values (a centre, bounds, a basemap choice);
the grids come from the app's vector tiles (``/tiles/{layer}/{z}/{x}/{y}.pbf``) and the
answers from ``/api/v1/lookup``, so the pages are small and draw fast at district scale. Every
script and stylesheet is served by the app (:mod:`maps.assets`); with no basemap the pages work
offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from maps.assets import local_map, vector_grid
from maps.render import Text

TEMPLATES = Path(__file__).parent / "templates"

Bounds = tuple[float, float, float, float]
"""(min lon, min lat, max lon, max lat) in EPSG:4490."""


@dataclass(frozen=True)
class Basemap:
    """A tile basemap; ``datum`` is the datum its tiles are drawn in."""

    name: str
    url: str
    attribution: str
    datum: str = "wgs84"
    subdomains: str = "abc"
    overlay_url: str | None = None  # e.g. Tianditu's annotation layer


def basemap(name: str, *, tianditu_key: str | None = None) -> Basemap | None:
    """The basemap called ``name``: ``none`` (None), ``tianditu`` (needs a key), ``amap`` or
    ``tencent`` (both GCJ-02). Raises ValueError for an unknown name or a missing key."""
    if name == "none":
        return None
    if name == "tianditu":
        if not tianditu_key:
            raise ValueError("天地图底图需要密钥 WANGGE_TIANDITU_KEY (Tianditu needs a key)")
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
    raise ValueError(f"unknown basemap {name!r}: none, tianditu, amap or tencent")


def _base(bounds: Bounds, base: Basemap | None) -> folium.Map:
    x0, y0, x1, y1 = bounds
    m = local_map(
        location=[(y0 + y1) / 2, (x0 + x1) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
        min_zoom=9,
        max_zoom=19,
        zoom_control=False,
    )
    m.fit_bounds([[y0, x0], [y1, x1]])
    if base is not None:
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


GRID_STYLE = {"weight": 1.2, "color": "#c0392b", "fill": True, "fillOpacity": 0.05}
COMMUNITY_STYLE = {"weight": 2.5, "color": "#2c3e50", "fill": False}
STREET_STYLE = {"weight": 4, "color": "#8e44ad", "fill": False, "opacity": 0.6}


def _grid_layers(m: folium.Map, datum: str, version: int | None = None) -> str:
    """Add the grid, community and street tile layers; return the grids layer's JS name."""
    for layer, style in (("streets", STREET_STYLE), ("communities", COMMUNITY_STYLE)):
        vector_grid(
            _tiles_url(layer, datum, version), layer, {"vectorTileLayerStyles": {layer: style}}
        ).add_to(m)
    grids = vector_grid(
        _tiles_url("grids", datum, version),
        "grids",
        {
            "vectorTileLayerStyles": {"grids": GRID_STYLE},
            "interactive": True,
            "maxNativeZoom": 18,
        },
    )
    grids.add_to(m)
    return grids.get_name()


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


def _html_lang(m: folium.Map, title: str) -> None:
    root = m.get_root()
    root.header.add_child(Text(f"<title>{title}</title>"), name="title")
    root.header.add_child(
        Text('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        name="viewport_zh",
    )


def resident_map(
    bounds: Bounds,
    base: Basemap | None = None,
    *,
    grid_code: str | None = None,
    tiles_version: int | None = None,
) -> folium.Map:
    """The residents' page: search an address, tap the map or use the phone's location to find
    the grid and its workers; ``grid_code`` opens with that grid shown (the signboard QR)."""
    datum = base.datum if base else "wgs84"
    m = _base(bounds, base)
    grids = _grid_layers(m, datum, tiles_version)
    _html_lang(m, "找网格员 · 网格 Wangge")
    _Page("resident.html", datum=datum, grid_code=grid_code, grids_layer=grids).add_to(m)
    return m


def district_map(
    bounds: Bounds, base: Basemap | None = None, *, tiles_version: int | None = None
) -> folium.Map:
    """All published grids of the district from vector tiles, with communities and streets;
    clicking a grid shows its number and name and links to its public page."""
    datum = base.datum if base else "wgs84"
    m = _base(bounds, base)
    grids = _grid_layers(m, datum, tiles_version)
    _html_lang(m, "网格地图 · 网格 Wangge")
    _Page("district.html", datum=datum, grids_layer=grids).add_to(m)
    return m
