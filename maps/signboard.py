"""The grid's public signboard (网格公示牌): a printable A4 page, and its PDF.

Built from plain data: the grid card (the same JSON the lookup answers), shapely geometries of
the grid and its surroundings in EPSG:4490, and the URL the QR code opens. The map is an inline
SVG, so the page needs no script, no tile and no network to print.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
import qrcode.image.svg
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from shapely.geometry.base import BaseGeometry

from maps.public import grid_title

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

ROLE_LABELS = {
    "grid_chief": "网格长",
    "full_time_worker": "专职网格员",
    "part_time_worker": "兼职网格员",
    "party_group_leader": "网格党小组长",
    "liaison_leader": "联户长",
}


@dataclass
class Surroundings:
    """What the signboard map draws around the grid (all EPSG:4490 shapely geometries)."""

    grid: BaseGeometry
    neighbours: list[tuple[int, BaseGeometry]] = field(default_factory=list)  # (number, geom)
    roads: list[tuple[str, BaseGeometry]] = field(default_factory=list)  # (name, line)
    buildings: list[BaseGeometry] = field(default_factory=list)


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code for ``url`` (error correction M, prints crisp at any size)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(url)
    img = qr.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buf = io.BytesIO()
    img.save(buf)
    svg = buf.getvalue().decode("utf-8")
    return Markup(svg[svg.index("<svg") :])


def _projector(bounds: tuple[float, float, float, float], width: float, height: float):
    """lon/lat → SVG x/y: a local equirectangular view (true shape at this scale)."""
    x0, y0, x1, y1 = bounds
    k = math.cos(math.radians((y0 + y1) / 2))
    w, h = max((x1 - x0) * k, 1e-9), max(y1 - y0, 1e-9)
    scale = min(width / w, height / h)
    ox = (width - w * scale) / 2
    oy = (height - h * scale) / 2

    def project(coords):
        out = coords.copy()
        out[:, 0] = ox + (coords[:, 0] - x0) * k * scale
        out[:, 1] = height - oy - (coords[:, 1] - y0) * scale
        return out

    return project


def _ring(coords) -> str | None:
    pts = list(coords)
    if len(pts) < 3:
        return None
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z"


def _path(geom: BaseGeometry) -> str:
    """SVG path data for any geometry; empty parts are left out (never a bare "M Z")."""
    if geom.is_empty:
        return ""
    if hasattr(geom, "geoms"):
        return " ".join(d for d in (_path(g) for g in geom.geoms) if d)
    if geom.geom_type == "Polygon":
        rings = (_ring(r.coords) for r in [geom.exterior, *geom.interiors])
        return " ".join(r for r in rings if r)
    if geom.geom_type in ("LineString", "LinearRing") and len(geom.coords) >= 2:
        return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in geom.coords)
    if geom.geom_type == "Point":
        return f"M{geom.x - 2:.1f},{geom.y:.1f} h4"
    return ""


def _element(geom: BaseGeometry, attrs: str) -> str:
    d = _path(geom)
    return f'<path d="{d}" {attrs}/>' if d else ""


MAP_WIDTH = 700
GRID_SHARE = 0.78
"""How much of the map's smaller side the grid spans: large, with its surroundings around."""


def _view(grid: BaseGeometry, width: float, height: float) -> tuple[float, float, float, float]:
    """The lon/lat window of a ``width``×``height`` map with ``grid`` large and centred."""
    x0, y0, x1, y1 = grid.bounds
    k = math.cos(math.radians((y0 + y1) / 2))
    gw, gh = max((x1 - x0) * k, 1e-7), max(y1 - y0, 1e-7)
    scale = GRID_SHARE * min(width / gw, height / gh)  # SVG units per (scaled) degree
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = width / scale / 2 / k, height / scale / 2
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


class _Labels:
    """Labels placed in order of importance; one that would overlap a placed one is left out."""

    def __init__(self) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []
        self.svg: list[str] = []

    def place(self, x: float, y: float, text: str, size: int, colour: str) -> bool:
        width = sum(size if ord(c) > 0x2E80 else size * 0.62 for c in text) + 6
        box = (x - width / 2, y - size * 0.7, x + width / 2, y + size * 0.7)
        if any(
            box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes
        ):
            return False
        self.boxes.append(box)
        self.svg.append(_label(x, y, text, size, colour))
        return True


def _inside_point(geom: BaseGeometry) -> tuple[float, float, float]:
    """The point deepest inside ``geom`` (an SVG-space polygon) and its distance to the edge."""
    polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and g.area > 0]
    if not polys:
        return 0.0, 0.0, 0.0
    biggest = max(polys, key=lambda g: g.area)
    circle = shapely.maximum_inscribed_circle(biggest, 0.5)
    centre = shapely.get_point(circle, 0)
    return centre.x, centre.y, circle.length


def map_svg(s: Surroundings, number: int, *, width: int = MAP_WIDTH, height: int = 360) -> Markup:
    """An SVG map of ``width``×``height``: the grid large and centred, filled and outlined, its
    buildings, the neighbouring grids with their numbers where they are readable, named roads;
    no label overlaps another.

    The surroundings are drawn well beyond the view box and the SVG lets them show
    (``overflow: visible``), so when the page's layout gives the map a box of another shape
    the grid stays whole and centred and the margins still show the map around it.
    """
    view = _view(s.grid, width, height)
    project = _projector(view, width, height)
    x0, y0, x1, y1 = view
    dx, dy = x1 - x0, y1 - y0
    clip = shapely.box(x0 - dx, y0 - dy, x1 + dx, y1 + dy)
    visible = shapely.box(0, 0, width, height)

    def proj(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g.intersection(clip), project)

    grid = proj(s.grid)
    neighbours = [(n, proj(g)) for n, g in s.neighbours]
    roads = [(name, proj(g)) for name, g in s.roads]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        'preserveAspectRatio="xMidYMid meet" overflow="visible" class="wg-map" role="img" '
        'aria-label="网格边界图">',
        f'<rect x="{-width}" y="{-height}" width="{3 * width}" height="{3 * height}" '
        'fill="#fbfaf7"/>',
    ]
    out += [_element(g, 'fill="#eeeeee" stroke="#999" stroke-width="1"') for _, g in neighbours]
    out.append(_element(grid, 'fill="#fde3d0" stroke="none"'))
    out += [
        _element(proj(g), 'fill="#d9a98a" stroke="#a0522d" stroke-width="0.6"') for g in s.buildings
    ]
    for _, line in roads:
        out.append(_element(line, 'fill="none" stroke="#fff" stroke-width="7"'))
        out.append(_element(line, 'fill="none" stroke="#b8b8b8" stroke-width="4"'))
    outline = 'fill="none" stroke="#c0392b" stroke-width="4" stroke-linejoin="round"'
    out.append(_element(grid, outline))
    labels = _Labels()
    x, y, _ = _inside_point(grid.intersection(visible))
    labels.place(x, y, f"第{number}网格", 26, "#c0392b")
    for name, line in sorted(roads, key=lambda r: -r[1].length):
        seen = line.intersection(visible)
        if seen.is_empty or seen.length < 20 * len(name) + 40:
            continue
        p = seen.interpolate(0.5, normalized=True)
        labels.place(p.x, p.y, name, 13, "#555")
    for n, g in neighbours:
        x, y, radius = _inside_point(g.intersection(visible))
        if radius >= 14:  # room for the number inside the visible part of the neighbour
            labels.place(x, y, f"{n}", 18, "#777")
    out += labels.svg
    out.append(_north_arrow(width))
    out.append("</svg>")
    return Markup("".join(d for d in out if d))


def _label(x: float, y: float, text: str, size: int, colour: str) -> str:
    """A bold label with a white halo: the halo is a stroked copy drawn first (WeasyPrint
    ignores ``paint-order``, so one stroked text would cover its own fill)."""
    common = (
        f'x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="middle" '
        f'dominant-baseline="middle" font-weight="bold"'
    )
    return (
        f'<g class="wg-label"><text {common} fill="#fff" stroke="#fff" stroke-width="3">'
        f'{escape(text)}</text><text {common} fill="{colour}">{escape(text)}</text></g>'
    )


def _north_arrow(width: int) -> str:
    x = width - 30
    return (
        f'<g transform="translate({x},40)"><path d="M0,-22 L9,10 L0,4 L-9,10 Z" fill="#333"/>'
        '<text y="26" font-size="14" text-anchor="middle">北</text></g>'
    )


def _staff_rows(card: dict, *, party_members: bool) -> list[dict]:
    rows = []
    for p in card["staff"]:
        rows.append(
            {
                "role": ROLE_LABELS.get(p["role"], p["role"]),
                "name": p["name"],
                "phone": p.get("phone") or "",
                "organisation": p.get("organisation") or "",
                "party": party_members and p.get("party_member"),
            }
        )
    return rows


def _map_height(rows: int) -> int:
    """The map's height (SVG units, 700 wide = 186 mm) for a page of ``rows`` table rows: it
    takes what the header, tables and office line leave of the A4 page, so the page is filled
    (the SVG then slices to its box, which the page's flex layout makes exact)."""
    units_per_mm = MAP_WIDTH / 186
    text_mm = 24 + 4 + max(95, 78 + 8.6 * rows)  # header, gap, the taller of tables and QR
    return round(max(150, 271 - text_mm) * units_per_mm)


def signboard_html(
    card: dict,
    surroundings: Surroundings,
    url: str,
    *,
    party_members: bool = True,
    compounds: Iterable[str] = (),
    households: int | None = None,
    unconfigured: bool = False,
) -> str:
    """The A4 signboard page of one grid.

    ``card`` is the lookup answer for the grid; ``url`` the public page its QR code opens;
    ``party_members`` whether the community publishes its party members (marked 党员 and listed
    with their work phones); ``compounds`` the compound names in the grid for the area
    description; ``households`` the number of households, shown as a figure only;
    ``unconfigured``: the public address is not set (development), said on screen, not printed.
    """
    g = card["grid"]
    staff = _staff_rows(card, party_members=party_members)
    party = [r for r in staff if r["party"]] if party_members else []
    return _env.get_template("signboard.html").render(
        grid=g,
        title=grid_title(g),
        unconfigured=unconfigured,
        staff=staff,
        party=party,
        party_members=party_members,
        compounds=list(compounds),
        households=households,
        map_svg=map_svg(surroundings, g["number"], height=_map_height(len(staff) + len(party))),
        qr=qr_svg(url),
        url=url,
    )
