"""The planner map of a community's plan: grids coloured by load, numbered, with tallies in
tooltips; buildings, compounds, roads and rivers as layers; a draft's grids drawn against the
published boundaries; the residents' requests as a heat layer (planners only); and the side
panel whose buttons call the plan API.

Built from plain GeoJSON and tallies (``data.queries.planmap``, ``data.plans.engine``); all assets
local.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import folium

from maps.assets import local_map
from maps.detail import LinkPopup, MetricScale, TextTooltip
from maps.public import _Page, page_head
from maps.render import Text, figure_of

LOAD_COLOURS = {"under": "#f1c40f", "in_band": "#27ae60", "over": "#e74c3c"}
LOAD_ZH = {"under": "不足", "in_band": "达标", "over": "超出"}
MOVED_COLOUR = "#e67e22"
HEAT_NAME = "诉求热力（近一年）"
HEAT_COLOURS = ((0.66, "#c0392b"), (0.33, "#e67e22"), (0.0, "#f1c40f"))


def _heat_layer(m: folium.Map, cells: list[tuple[float, float, int]]) -> None:
    """Requests counted per ~200 m cell (lon, lat in EPSG:4490, count) as circles that grow and
    redden with the count; off until the planner turns it on. Counts only, no request's text."""
    layer = folium.FeatureGroup(name=HEAT_NAME, show=False).add_to(m)
    top = max((n for _, _, n in cells), default=1)
    for lon, lat, n in cells:
        t = n / top
        colour = next(c for floor, c in HEAT_COLOURS if t > floor or floor == 0.0)
        folium.CircleMarker(
            [lat, lon],
            radius=4 + 14 * t**0.5,
            stroke=False,
            fill=True,
            fill_color=colour,
            fill_opacity=0.55,
            tooltip=f"{n} 件",
            class_name="wg-heat",
        ).add_to(layer)


def _moved(feature: dict[str, Any]) -> bool:
    """A building whose grid in this plan differs from the published plan's."""
    props = feature["properties"]
    return props.get("published_grid") is not None and props["grid"] != props["published_grid"]


RIVER_STYLE = {"color": "#3498db", "fillColor": "#85c1e9", "weight": 1, "fillOpacity": 0.6}
GRID_STYLE = {"color": "#2c3e50", "weight": 2, "fillOpacity": 0.35}
PUBLISHED_STYLE = {"color": "#000", "weight": 2.5, "dashArray": "6 6", "fill": False}
COMPOUND_STYLE = {"color": "#8e44ad", "weight": 1, "fill": False, "dashArray": "2 4"}


def _road_style(feature: dict[str, Any]) -> dict[str, Any]:
    major = feature["properties"]["level"] in ("trunk", "primary")
    return {"color": "#7f8c8d", "weight": 3 if major else 1.5}


def _layer(
    m: folium.Map,
    collection: dict[str, Any],
    name: str,
    style: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
    tooltip: dict[str, str] | None = None,
) -> folium.GeoJson | None:
    """Add a GeoJSON layer (skipped when empty) with a style and a field → label tooltip."""
    if not collection["features"]:
        return None
    layer = folium.GeoJson(
        collection,
        name=name,
        style_function=style if callable(style) else lambda f: style,
        tooltip=TextTooltip(list(tooltip), aliases=list(tooltip.values())) if tooltip else None,
    )
    layer.add_to(m)
    return layer


def _bounds(collection: dict[str, Any]) -> list[list[float]]:
    xs, ys = [], []

    def walk(coords) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for feature in collection["features"]:
        walk(feature["geometry"]["coordinates"])
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def planner_map(
    layers: dict[str, dict[str, Any]],
    loads: dict[int, str],
    panel: dict[str, Any],
    heat: list[tuple[float, float, int]] | None = None,
) -> folium.Map:
    """The planner map.

    Parameters
    ----------
    layers
        GeoJSON FeatureCollections (lon/lat) named ``community``, ``grids`` (``number``,
        ``households``, ``label_lon``/``label_lat``), ``published``, ``buildings`` (``id``,
        ``grid``), ``compounds``, ``roads``, ``rivers``.
    loads
        Grid number → "under", "in_band" or "over".
    panel
        Values for the side panel (plan, tallies, violations, csrf token, API base).
    heat
        The community's requests per cell (lon, lat, count) for planners; None: no such layer.
    """
    m = local_map(location=[27.72, 109.19], zoom_start=15, tiles=None)
    m.fit_bounds(_bounds(layers["community"]))
    page_head(m, "网格规划 · 网格 Wangge")

    draft = panel["plan"]["status"] == "draft"  # only a draft marks its moved buildings
    _layer(m, layers["rivers"], "河流", RIVER_STYLE)
    _layer(m, layers["roads"], "道路", _road_style, {"name": "道路"})
    for feature in layers["grids"]["features"]:
        props = feature["properties"]
        props["load"] = loads.get(props["number"], "in_band")
        props["load_zh"] = LOAD_ZH[props["load"]]
    grids = _layer(
        m,
        layers["grids"],
        "网格（按户数着色）",
        lambda f: {**GRID_STYLE, "fillColor": LOAD_COLOURS[f["properties"]["load"]]},
        {"name": "网格", "code": "编码", "households": "户数", "load_zh": "状态"},
    )
    _layer(m, layers["published"], "已发布边界", PUBLISHED_STYLE)
    _layer(m, layers["compounds"], "小区", COMPOUND_STYLE, {"name": "小区"})
    buildings = folium.GeoJson(
        layers["buildings"],
        name="楼栋",
        style_function=lambda f: {
            "color": "#34495e",
            "weight": 1,
            "fillColor": MOVED_COLOUR if draft and _moved(f) else "#ecf0f1",
            "fillOpacity": 0.9,
        },
        highlight_function=lambda f: {"color": "#e67e22", "weight": 3},
        tooltip=TextTooltip(
            ["compound", "name", "address", "households", "grid"],
            aliases=["小区", "楼栋", "地址", "户数", "网格"],
        ),
    ).add_to(m)
    labels = folium.FeatureGroup(name="网格编号").add_to(m)
    for feature in layers["grids"]["features"]:
        props = feature["properties"]
        folium.Marker(
            [props["label_lat"], props["label_lon"]],
            icon=folium.DivIcon(
                html=f'<div class="wg-label">{props["number"]}</div>',
                icon_size=(28, 28),
                icon_anchor=(14, 14),
            ),
        ).add_to(labels)
    folium.GeoJson(
        layers["community"],
        name="社区边界",
        style_function=lambda f: {"color": "#c0392b", "weight": 3, "fill": False},
    ).add_to(m)
    if heat is not None:
        _heat_layer(m, heat)
    folium.LayerControl(collapsed=True).add_to(m)
    _Page(
        "planner.html",
        **panel,
        map=m.get_name(),
        buildings_layer=buildings.get_name(),
        grids_layer=grids.get_name() if grids else "null",
    ).add_to(m)
    return m


def street_map(layers: dict[str, dict[str, Any]], title: str) -> folium.Map:
    """A street office's grids, coloured by load, with each community linked to its planner map.

    ``layers``: ``grids`` (``community``, ``community_name``, ``name``, ``households``,
    ``load``, ``status``) and ``communities`` (``code``, ``name``) as GeoJSON.
    """
    m = local_map(location=[27.72, 109.19], zoom_start=14, tiles=None)
    MetricScale().add_to(m)
    m.fit_bounds(_bounds(layers["communities"]))
    page_head(m, f"{title} · 网格规划")
    for feature in layers["grids"]["features"]:
        props = feature["properties"]
        props["load_zh"] = LOAD_ZH[props["load"]]
        props["status_zh"] = "草稿" if props["status"] == "draft" else "已发布"
    _layer(
        m,
        layers["grids"],
        "网格（按户数着色）",
        lambda f: {**GRID_STYLE, "fillColor": LOAD_COLOURS[f["properties"]["load"]]},
        {
            "community_name": "社区",
            "name": "网格",
            "households": "户数",
            "load_zh": "状态",
            "status_zh": "方案",
        },
    )
    if layers["communities"]["features"]:
        communities = folium.GeoJson(
            layers["communities"],
            name="社区",
            style_function=lambda f: {"color": "#c0392b", "weight": 3, "fill": False},
            tooltip=TextTooltip(["name"], labels=False),
        ).add_to(m)
        communities.add_child(LinkPopup("/plan/", "code", "name", "：打开规划图"))
    links = "".join(
        f'<li><a href="/plan/{html.escape(f["properties"]["code"])}">'
        f"{html.escape(f['properties']['name'])}</a></li>"
        for f in layers["communities"]["features"]
    )
    figure_of(m).html.add_child(
        Text(
            '<nav id="wg-communities" style="position:absolute;z-index:1000;top:10px;left:60px;'
            'background:#fff;padding:6px 12px;border-radius:6px;font-size:14px">'
            f'<a href="/plan">← 社区列表</a> · {html.escape(title)}'
            f'<ul style="margin:4px 0;padding-left:18px">{links}</ul></nav>'
        )
    )
    folium.LayerControl(collapsed=True).add_to(m)
    return m
