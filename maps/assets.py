"""Every front-end asset the maps use, served by Wangge itself under ``/static/vendor/``.

Folium points its default JavaScript and CSS (and its plugins') at CDNs; :func:`localise`
rewrites them to the files copied from npm into ``maps/static/vendor`` (see ``package.json`` and
``maps/static/vendor.sh``), so a page works with no internet. This is the one place that knows
those URLs.
"""

from __future__ import annotations

from pathlib import Path

import folium
from folium.plugins import VectorGridProtobuf

from maps import render

STATIC_DIR = Path(__file__).parent / "static"
"""Mounted by the app at ``/static``."""

VENDOR = "/static/vendor"

JS = {
    "leaflet": f"{VENDOR}/leaflet/leaflet.js",
    "jquery": f"{VENDOR}/jquery/jquery.min.js",
    "bootstrap": f"{VENDOR}/bootstrap/bootstrap.bundle.min.js",
    "awesome_markers": f"{VENDOR}/awesome-markers/leaflet.awesome-markers.js",
    "vectorGrid": f"{VENDOR}/vectorgrid/Leaflet.VectorGrid.bundled.min.js",
}
CSS = {
    "leaflet_css": f"{VENDOR}/leaflet/leaflet.css",
    "bootstrap_css": f"{VENDOR}/bootstrap/bootstrap.min.css",
    "awesome_markers_font_css": f"{VENDOR}/fontawesome/css/all.min.css",
    "awesome_markers_css": f"{VENDOR}/awesome-markers/leaflet.awesome-markers.css",
}
# Folium also links Bootstrap 3's glyphicons and its own rotate CSS for rotated awesome markers;
# neither is used by Wangge's maps, so they are dropped rather than fetched.
DROPPED = {"glyphicons_css", "awesome_rotate_css"}
WIDGETS = {
    "jquery",
    "bootstrap",
    "awesome_markers",
    "bootstrap_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
}
"""Folium's defaults for its own widgets and marker icons (jQuery, Bootstrap, Font Awesome,
Leaflet.awesome-markers): what ``local_map(widgets=False)`` leaves out."""


def _local(
    pairs: list[tuple[str, str]], table: dict[str, str], drop: set[str]
) -> list[tuple[str, str]]:
    out = []
    for name, url in pairs:
        if name in drop:
            continue
        if name not in table:
            raise KeyError(f"no local copy of {name} ({url}); add it to maps/assets.py")
        out.append((name, table[name]))
    return out


def localise(element, drop: set[str] = DROPPED) -> None:
    """Point one folium element's ``default_js``/``default_css`` at the local copies, leaving
    out those named in ``drop``.

    Set on the instance, so folium's classes stay untouched for any other user in the process.
    """
    element.default_js = _local(list(type(element).default_js), JS, drop)
    element.default_css = _local(list(type(element).default_css), CSS, drop)


def local_map(*, widgets: bool = True, **kwargs) -> folium.Map:
    """A ``folium.Map`` whose assets all come from ``/static/vendor``, rendered by
    :func:`maps.render.install`'s one-pass renderer. ``widgets=False``: Leaflet's script and
    stylesheet only, none of :data:`WIDGETS`, for the public pages, which draw with Leaflet and
    their own scripts and CSS (the six files they do not use were half of what a first visit
    loaded before asking for its first tile)."""
    render.install()
    m = folium.Map(**kwargs)
    localise(m, DROPPED if widgets else DROPPED | WIDGETS)
    return m


def vector_grid(url: str, layer_name: str, options: dict) -> VectorGridProtobuf:
    """Folium's VectorGridProtobuf plugin with the local Leaflet.VectorGrid bundle."""
    layer = VectorGridProtobuf(url, layer_name, options)
    localise(layer)
    return layer


def asset_paths() -> list[str]:
    """Every URL path the maps link to (for tests that fetch them all)."""
    return [*JS.values(), *CSS.values()]
