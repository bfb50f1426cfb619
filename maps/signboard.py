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
from markupsafe import Markup
from shapely.geometry.base import BaseGeometry

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


def _path(geom: BaseGeometry) -> str:
    parts = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.geom_type == "Polygon":
            for ring in [poly.exterior, *poly.interiors]:
                pts = " L".join(f"{x:.1f},{y:.1f}" for x, y in ring.coords)
                parts.append(f"M{pts} Z")
        elif poly.geom_type == "LineString":
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in poly.coords))
        elif poly.geom_type == "Point":
            parts.append(f"M{poly.x - 2:.1f},{poly.y:.1f} h4")
    return " ".join(parts)


def map_svg(s: Surroundings, number: int, *, width: int = 700, height: int = 360) -> Markup:
    """An SVG map: the grid filled and outlined, its buildings, neighbouring grids with their
    numbers, and named roads."""
    x0, y0, x1, y1 = s.grid.bounds
    pad_x, pad_y = (x1 - x0) * 0.15 + 1e-4, (y1 - y0) * 0.15 + 1e-4
    view = (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y)
    project = _projector(view, width, height)
    clip = shapely.box(*view)

    def proj(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g.intersection(clip), project)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="wg-map" role="img" aria-label="网格边界图">',
        f'<rect width="{width}" height="{height}" fill="#fbfaf7"/>',
    ]
    for _, g in s.neighbours:
        out.append(f'<path d="{_path(proj(g))}" fill="#eeeeee" stroke="#999" stroke-width="1"/>')
    out.append(f'<path d="{_path(proj(s.grid))}" fill="#fde3d0" stroke="none"/>')
    for g in s.buildings:
        out.append(
            f'<path d="{_path(proj(g))}" fill="#d9a98a" stroke="#a0522d" stroke-width="0.6"/>'
        )
    for _name, g in s.roads:
        line = proj(g)
        if line.is_empty:
            continue
        out.append(f'<path d="{_path(line)}" fill="none" stroke="#fff" stroke-width="7"/>')
        out.append(f'<path d="{_path(line)}" fill="none" stroke="#b8b8b8" stroke-width="4"/>')
    out.append(
        f'<path d="{_path(proj(s.grid))}" fill="none" stroke="#c0392b" '
        'stroke-width="4" stroke-linejoin="round"/>'
    )
    labelled: set[str] = set()
    for name, g in s.roads:
        line = proj(g)
        if line.is_empty or name in labelled or line.length < 80:
            continue
        labelled.add(name)
        p = line.interpolate(0.5, normalized=True)
        out.append(_label(p.x, p.y, name, 13, "#555"))
    for n, g in s.neighbours:
        c = proj(g).representative_point() if not proj(g).is_empty else None
        if c is not None and not c.is_empty:
            out.append(_label(c.x, c.y, f"{n}", 16, "#888"))
    c = shapely.transform(s.grid, project).representative_point()
    out.append(_label(c.x, c.y, f"第{number}网格", 24, "#c0392b"))
    out.append(_north_arrow(width))
    out.append("</svg>")
    return Markup("".join(out))


def _label(x: float, y: float, text: str, size: int, colour: str) -> str:
    from markupsafe import escape

    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="middle" '
        f'dominant-baseline="middle" paint-order="stroke" stroke="#fff" stroke-width="3" '
        f'font-weight="bold">{escape(text)}</text>'
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
    """The map gives way to the staff tables so the signboard stays one A4 page."""
    return max(140, min(360, 360 - 32 * (rows - 5)))


def signboard_html(
    card: dict,
    surroundings: Surroundings,
    url: str,
    *,
    party_members: bool = True,
    compounds: Iterable[str] = (),
    households: int | None = None,
) -> str:
    """The A4 signboard page of one grid.

    ``card`` is the lookup answer for the grid; ``url`` the public page its QR code opens;
    ``party_members`` whether the community publishes its party members (marked 党员 and listed
    with their work phones); ``compounds`` the compound names in the grid for the area
    description; ``households`` the number of households, shown as a figure only.
    """
    g = card["grid"]
    staff = _staff_rows(card, party_members=party_members)
    party = [r for r in staff if r["party"]] if party_members else []
    return _env.get_template("signboard.html").render(
        grid=g,
        staff=staff,
        party=party,
        party_members=party_members,
        compounds=list(compounds),
        households=households,
        map_svg=map_svg(surroundings, g["number"], height=_map_height(len(staff) + len(party))),
        qr=qr_svg(url),
        url=url,
    )
