"""The planner map of a community's plan: grids coloured by load, numbered, with tallies in
tooltips; buildings, compounds, roads and rivers as layers; a draft's grids drawn against the
published boundaries; and the side panel whose buttons call the plan API.

Built from plain GeoJSON and tallies (``data.planmap``, ``data.planning``); all assets local.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import Element

from maps.assets import local_map
from maps.public import _Page

LOAD_COLOURS = {"under": "#f1c40f", "in_band": "#27ae60", "over": "#e74c3c"}
LOAD_ZH = {"under": "不足", "in_band": "达标", "over": "超出"}


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
    """
    m = local_map(location=[27.72, 109.19], zoom_start=15, tiles=None, control_scale=True)
    m.fit_bounds(_bounds(layers["community"]))
    root = m.get_root()
    root.header.add_child(Element("<title>网格规划 · 网格 Wangge</title>"), name="title")

    folium.GeoJson(
        layers["rivers"],
        name="河流",
        style_function=lambda f: {
            "color": "#3498db",
            "fillColor": "#85c1e9",
            "weight": 1,
            "fillOpacity": 0.6,
        },
    ).add_to(m)
    folium.GeoJson(
        layers["roads"],
        name="道路",
        style_function=lambda f: {
            "color": "#7f8c8d",
            "weight": 3 if f["properties"]["level"] in ("trunk", "primary") else 1.5,
        },
        tooltip=folium.GeoJsonTooltip(["name"], aliases=["道路"]),
    ).add_to(m)
    for feature in layers["grids"]["features"]:
        props = feature["properties"]
        props["load_zh"] = LOAD_ZH[loads.get(props["number"], "in_band")]
    grids = folium.GeoJson(
        layers["grids"],
        name="网格（按户数着色）",
        style_function=lambda f: {
            "color": "#2c3e50",
            "weight": 2,
            "fillOpacity": 0.35,
            "fillColor": LOAD_COLOURS[loads.get(f["properties"]["number"], "in_band")],
        },
        tooltip=folium.GeoJsonTooltip(
            ["name", "code", "households", "load_zh"], aliases=["网格", "编码", "户数", "状态"]
        ),
    ).add_to(m)
    if layers["published"]["features"]:
        folium.GeoJson(
            layers["published"],
            name="已发布边界",
            style_function=lambda f: {
                "color": "#000",
                "weight": 2.5,
                "dashArray": "6 6",
                "fill": False,
            },
        ).add_to(m)
    folium.GeoJson(
        layers["compounds"],
        name="小区",
        style_function=lambda f: {
            "color": "#8e44ad",
            "weight": 1,
            "fill": False,
            "dashArray": "2 4",
        },
        tooltip=folium.GeoJsonTooltip(["name"], aliases=["小区"]),
    ).add_to(m)
    buildings = folium.GeoJson(
        layers["buildings"],
        name="楼栋",
        style_function=lambda f: {
            "color": "#34495e",
            "weight": 1,
            "fillColor": "#ecf0f1",
            "fillOpacity": 0.9,
        },
        highlight_function=lambda f: {"color": "#e67e22", "weight": 3},
        tooltip=folium.GeoJsonTooltip(
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
    folium.LayerControl(collapsed=True).add_to(m)
    _Page(
        "planner.html",
        **panel,
        buildings_layer=buildings.get_name(),
        grids_layer=grids.get_name(),
    ).add_to(m)
    return m
