"""The sample city's physical layout, in metres (EPSG:4545): outline, river, roads, blocks,
parcels and building footprints.

The city is a lobed blob around Bijiang's centre (109.19°E, 27.72°N), elongated along the
Jinjiang valley and clipped to the district's real outline. The river meanders across it, 100 m
wide. Main roads form a wavy lattice roughly parallel and perpendicular to the river; the
riverside avenues and a ring road are trunk roads; main and ring roads cross the river on
bridges, the others stop at the bank. Superblocks between main roads are split by local roads
into blocks, blocks (less road and river margins) into parcels, and parcels are filled with a
lattice of rotated rectangles: towers, mid-rise blocks or self-built houses.

Everything here is geometry; households, names and grids come later.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

METRIC_CRS = "EPSG:4545"
RIVER_HALF_WIDTH_M = 50.0
MAIN_SPACING_M = 560.0
ROAD_HALF_WIDTH_M = {"trunk": 20.0, "primary": 15.0, "secondary": 11.0, "local": 6.0}
SETBACK_M = 4.0
RIVER_SETBACK_M = 15.0
LOCAL_SPLIT_M2 = 80_000.0
MIN_BUILDABLE_M2 = 600.0
PARCEL_TARGET_M2 = {
    "tower": (15_000.0, 45_000.0),
    "midrise": (8_000.0, 25_000.0),
    "house": (6_000.0, 18_000.0),
}
MAX_COMPOUND_BUILDINGS = 40
MAX_HAMLET_BUILDINGS = 60


@dataclass
class Layout:
    """The city's geometry in EPSG:4545."""

    centre: tuple[float, float]
    radius: float
    outline: Polygon
    river: BaseGeometry
    roads: gpd.GeoDataFrame  # name-less: level, bridge, line index
    blocks: gpd.GeoDataFrame  # side (river side), geometry
    parcels: gpd.GeoDataFrame  # block, kind, geometry
    buildings: gpd.GeoDataFrame  # parcel, block, kind, units, length, width, angle, geometry


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def city_outline(
    rng: np.random.Generator,
    centre: tuple[float, float],
    radius: float,
    axis: float,
    district: BaseGeometry | None,
) -> Polygon:
    """A lobed blob of mean radius ``radius`` elongated along ``axis``, clipped to the district."""
    theta = np.linspace(0.0, 2 * np.pi, 241)[:-1]
    r = np.ones_like(theta)
    for k, amplitude in ((2, 0.10), (3, 0.07), (5, 0.04)):
        r += amplitude * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    local = np.column_stack([1.22 * r * np.cos(theta), 0.82 * r * np.sin(theta)]) * radius
    xy = local @ _rotation(axis).T + centre
    blob = Polygon(xy)
    if district is not None:
        blob = blob.intersection(district)
    parts = shapely.get_parts(blob)
    return max(parts, key=lambda p: p.area)


def river_centreline(
    rng: np.random.Generator, centre: tuple[float, float], radius: float, axis: float
) -> LineString:
    """The Jinjiang's centre line: two superposed meanders through the middle of the city."""
    s = np.arange(-2.0 * radius - 3000.0, 2.0 * radius + 3000.0, 15.0)
    waves = ((420.0, 5200.0), (130.0, 1900.0))
    phases = rng.uniform(0, 2 * np.pi, len(waves))
    lateral = sum(
        a * np.sin(2 * np.pi * s / lam + p) for (a, lam), p in zip(waves, phases, strict=True)
    )
    lateral0 = sum(a * np.sin(p) for (a, _), p in zip(waves, phases, strict=True))
    lateral = lateral - lateral0 + rng.uniform(-0.12, 0.12) * min(radius, 2000.0)
    xy = np.column_stack([s, lateral]) @ _rotation(axis).T + centre
    return LineString(xy)


def _wavy_line(u0: float, vmin: float, vmax: float, rng: np.random.Generator) -> np.ndarray:
    """Local-frame points of a gently wavy line at ``u = u0`` from ``vmin`` to ``vmax``."""
    v = np.arange(vmin, vmax + 40.0, 40.0)
    wobble = 22.0 * np.sin(2 * np.pi * v / rng.uniform(700, 1300) + rng.uniform(0, 2 * np.pi))
    return np.column_stack([u0 + wobble, v])


def main_roads(
    rng: np.random.Generator,
    outline: Polygon,
    river: BaseGeometry,
    centreline: LineString,
    centre: tuple[float, float],
    radius: float,
    axis: float,
) -> list[tuple[str, bool, str, BaseGeometry]]:
    """Trunk, primary and secondary roads as (level, bridge, family, line) rows.

    ``family`` groups the pieces of one road (for naming): "river:0", "ring", "u:3", "v:5".
    """
    rows: list[tuple[str, bool, str, BaseGeometry]] = []
    # Riverside avenues on both banks and, in a large city, a ring road: the trunk roads.
    offset = RIVER_HALF_WIDTH_M + 22.0
    for k, sign in enumerate((1, -1)):
        rows.append(("trunk", False, f"river:{k}", centreline.offset_curve(sign * offset)))
    if radius >= 2500:
        theta = np.linspace(0, 2 * np.pi, 181)
        local = np.column_stack([1.22 * np.cos(theta), 0.82 * np.sin(theta)]) * 0.68 * radius
        rows.append(("trunk", True, "ring", LineString(local @ _rotation(axis).T + centre)))
    # A wavy lattice of main roads, alternating primary and secondary.
    rot = _rotation(axis + np.radians(rng.uniform(-8, 8)))
    local = (shapely.get_coordinates(outline.exterior) - centre) @ rot
    (umin, vmin), (umax, vmax) = local.min(axis=0) - 100, local.max(axis=0) + 100
    for family, (lo, hi, olo, ohi) in (
        ("u", (umin, umax, vmin, vmax)),
        ("v", (vmin, vmax, umin, umax)),
    ):
        pos = lo + rng.uniform(0.3, 0.9) * MAIN_SPACING_M
        k = int(rng.integers(2))
        while pos < hi:
            pts = _wavy_line(pos, olo, ohi, rng)
            if family == "v":
                pts = pts[:, ::-1]
            level = "primary" if k % 2 == 0 else "secondary"
            rows.append(
                (level, level == "primary", f"{family}:{k}", LineString(pts @ rot.T + centre))
            )
            pos += MAIN_SPACING_M * rng.uniform(0.8, 1.2)
            k += 1
    return _cut(rows, outline, river)


def _cut(rows, outline: Polygon, river: BaseGeometry) -> list[tuple[str, bool, str, BaseGeometry]]:
    """Clip roads to the outline; roads with bridges cross the river, the others stop at it."""
    out = []
    wet = river.buffer(0.01)
    for level, bridges, family, line in rows:
        inside = line.intersection(outline)
        if inside.is_empty:
            continue
        dry = inside.difference(wet)
        out += [(level, False, family, g) for g in shapely.get_parts(dry) if g.length > 25]
        if bridges:
            spans = inside.intersection(wet)
            out += [
                (level, True, family, g)
                for g in shapely.get_parts(spans)
                if g.geom_type == "LineString" and g.length > 20
            ]
    return out


def _faces(lines: list[BaseGeometry], outline: Polygon, river: BaseGeometry) -> np.ndarray:
    """Polygons of the noded network inside the outline and outside the river."""
    edges = [outline.exterior, *shapely.get_parts(river.boundary.intersection(outline)), *lines]
    noded = shapely.union_all(np.asarray(edges, dtype=object))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    reps = shapely.point_on_surface(faces)
    keep = shapely.contains(outline, reps) & ~shapely.intersects(river, reps)
    return faces[keep & (shapely.area(faces) > 1.0)]


def _long_axis(poly: BaseGeometry) -> tuple[np.ndarray, float, float]:
    """Centre, angle and length of the long axis of the minimum rotated rectangle."""
    rect = shapely.get_coordinates(shapely.oriented_envelope(poly))[:4]
    e1, e2 = rect[1] - rect[0], rect[2] - rect[1]
    edge = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
    return rect.mean(axis=0), float(np.arctan2(edge[1], edge[0])), float(np.hypot(*edge))


def _cut_line(poly: BaseGeometry, rng: np.random.Generator, lo=0.35, hi=0.65) -> LineString:
    """A line across ``poly`` perpendicular to its long axis, at a random fraction of it."""
    centre, angle, length = _long_axis(poly)
    d = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-d[1], d[0]])
    p = centre + d * length * (rng.uniform(lo, hi) - 0.5)
    reach = 2.0 * length + 100.0
    return LineString([p - n * reach, p + n * reach])


def local_roads(rng: np.random.Generator, superblocks: np.ndarray) -> list[BaseGeometry]:
    """Local roads splitting each superblock until its pieces are a few hectares."""
    lines: list[BaseGeometry] = []
    stack = [(poly, 0) for poly in superblocks]
    while stack:
        poly, depth = stack.pop()
        area = poly.area
        if area < LOCAL_SPLIT_M2 or depth > 6 or (area < 2 * LOCAL_SPLIT_M2 and rng.random() < 0.3):
            continue
        cut = _cut_line(poly, rng)
        piece = cut.intersection(poly)
        parts = [
            g for g in shapely.get_parts(piece) if g.geom_type == "LineString" and g.length > 30
        ]
        if not parts:
            continue
        lines += parts
        stack += [(p, depth + 1) for p in shapely.get_parts(split(poly, cut)) if p.area > 1.0]
    return lines


def buildable_areas(blocks: np.ndarray, roads: gpd.GeoDataFrame, river: BaseGeometry) -> np.ndarray:
    """Each block less its road margins (half width + setback) and the river bank."""
    half = roads["level"].map(ROAD_HALF_WIDTH_M).to_numpy() + SETBACK_M
    margins = shapely.buffer(roads.geometry.values, half, cap_style="flat")
    bank = river.buffer(RIVER_SETBACK_M)
    tree = shapely.STRtree(margins)
    out = np.empty(len(blocks), dtype=object)
    for i, block in enumerate(blocks):
        near = margins[tree.query(block, predicate="intersects")]
        obstacle = shapely.union_all(np.concatenate([near, [bank]]))
        out[i] = shapely.difference(block, obstacle)
    return out


def _kind_weights(rho: float) -> np.ndarray:
    """Probabilities of (tower, midrise, house) parcels at relative distance ``rho`` from the
    centre: old walk-ups in the centre, towers in the middle ring, self-built houses outside."""
    if rho < 0.35:
        w = (0.30, 0.55, 0.15)
    elif rho < 0.7:
        w = (0.45, 0.30, 0.25)
    else:
        w = (0.25, 0.15, 0.60)
    return np.array(w)


KINDS = ("tower", "midrise", "house")


def parcels(
    rng: np.random.Generator,
    buildable: np.ndarray,
    block_ids: np.ndarray,
    centre: tuple[float, float],
    radius: float,
) -> gpd.GeoDataFrame:
    """Split buildable land into parcels of one building kind each (compounds or hamlets)."""
    rows = []
    for block, land in zip(block_ids, buildable, strict=True):
        for part in shapely.get_parts(land):
            if part.area < MIN_BUILDABLE_M2:
                continue
            rho = np.hypot(*(np.array(part.centroid.coords[0]) - centre)) / radius
            kind = KINDS[rng.choice(3, p=_kind_weights(rho))]
            stack = [(part, kind, 0)]
            while stack:
                poly, kind, depth = stack.pop()
                target = rng.uniform(*PARCEL_TARGET_M2[kind])
                if poly.area > 1.4 * target and depth < 8:
                    pieces = shapely.get_parts(split(poly, _cut_line(poly, rng, 0.4, 0.6)))
                    if len(pieces) > 1:
                        for p in pieces:
                            k = (
                                kind
                                if rng.random() < 0.6
                                else KINDS[rng.choice(3, p=_kind_weights(rho))]
                            )
                            stack.append((p, k, depth + 1))
                        continue
                rows.append((block, kind, poly))
    blocks_, kinds, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"block": np.array(blocks_), "kind": list(kinds)}, geometry=list(geoms), crs=METRIC_CRS
    )


# Footprint and lattice parameters per kind: units choice, length(units), width, gaps, keep.
UNIT_CHOICES = {
    "tower": ((2, 3, 4, 5, 6), (0.40, 0.25, 0.20, 0.10, 0.05)),
    "midrise": ((1, 2, 3, 4), (0.15, 0.35, 0.30, 0.20)),
    "house": ((1,), (1.0,)),
}


def _footprint(
    rng: np.random.Generator, kind: str
) -> tuple[int, float, float, float, float, float]:
    """(units, length, width, gap along, gap across, keep probability) for one parcel."""
    units = int(rng.choice(UNIT_CHOICES[kind][0], p=UNIT_CHOICES[kind][1]))
    if kind == "tower":
        return (
            units,
            9.0 * units + 10.0,
            rng.uniform(17, 22),
            rng.uniform(14, 22),
            rng.uniform(28, 40),
            0.92,
        )
    if kind == "midrise":
        return (
            units,
            13.0 * units + 3.0,
            rng.uniform(10.5, 13),
            rng.uniform(6, 10),
            rng.uniform(12, 18),
            0.9,
        )
    return 1, rng.uniform(10, 14), rng.uniform(8, 12), rng.uniform(3, 5), rng.uniform(3, 5), 0.85


def _orientation(poly: BaseGeometry, kind: str) -> float:
    """Building axis: the parcel's long axis; towers and walk-ups turned to face south."""
    _, angle, _ = _long_axis(poly)
    if kind == "house":
        return angle
    # Of the two lattice directions, take the one closest to east–west (long side facing south).
    candidates = np.array([angle, angle + np.pi / 2])
    return float(candidates[np.argmin(np.abs(np.sin(candidates)))])


def fill_parcel(
    rng: np.random.Generator, poly: BaseGeometry, kind: str
) -> tuple[np.ndarray, int, float, float, float]:
    """Rotated-rectangle footprints on a lattice inside ``poly`` (shrunk 3 m): the compound's
    buildings. Returns (polygons, units, length, width, angle)."""
    units, length, width, gap_u, gap_v, keep = _footprint(rng, kind)
    angle = _orientation(poly, kind)
    inner = poly.buffer(-3.0)
    if inner.is_empty:
        return np.array([], dtype=object), units, length, width, angle
    c = np.array(poly.centroid.coords[0])
    rot = _rotation(angle)
    local = (shapely.get_coordinates(poly.exterior) - c) @ rot
    (umin, vmin), (umax, vmax) = local.min(axis=0), local.max(axis=0)
    pu, pv = length + gap_u, width + gap_v
    us = np.arange(umin + rng.uniform(0, pu), umax, pu)
    vs = np.arange(vmin + rng.uniform(0, pv), vmax, pv)
    if len(us) == 0 or len(vs) == 0:
        return np.array([], dtype=object), units, length, width, angle
    cu, cv = (a.ravel() for a in np.meshgrid(us, vs))
    n = len(cu)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [length / 2, width / 2]
    if kind == "house":  # self-built houses: each a little shifted and askew
        cu = cu + rng.uniform(-1, 1, n)
        cv = cv + rng.uniform(-1, 1, n)
        twist = np.radians(rng.uniform(-4, 4, n))
    else:
        twist = np.zeros(n)
    cos, sin = np.cos(twist), np.sin(twist)
    dx = corners[None, :, 0] * cos[:, None] - corners[None, :, 1] * sin[:, None]
    dy = corners[None, :, 0] * sin[:, None] + corners[None, :, 1] * cos[:, None]
    pts = np.stack([cu[:, None] + dx, cv[:, None] + dy], axis=-1) @ rot.T + c
    rects = shapely.polygons(pts)
    shapely.prepare(inner)
    ok = shapely.contains(inner, rects) & (rng.random(n) < keep)
    rects = rects[ok]
    cap = MAX_HAMLET_BUILDINGS if kind == "house" else MAX_COMPOUND_BUILDINGS
    if len(rects) > cap:
        rects = rects[np.sort(rng.choice(len(rects), cap, replace=False))]
    return rects, units, length, width, angle


def buildings(rng: np.random.Generator, parcel_frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Footprints for every parcel (candidates: a later step keeps only some parcels)."""
    cols: dict[str, list] = {
        k: [] for k in ("parcel", "block", "kind", "units", "length", "width", "angle")
    }
    geoms = []
    for pid, (block, kind, poly) in enumerate(
        zip(parcel_frame["block"], parcel_frame["kind"], parcel_frame.geometry, strict=True)
    ):
        rects, units, length, width, angle = fill_parcel(rng, poly, kind)
        if len(rects) == 0:
            continue
        n = len(rects)
        for key, value in (
            ("parcel", pid),
            ("block", block),
            ("kind", kind),
            ("units", units),
            ("length", length),
            ("width", width),
            ("angle", angle),
        ):
            cols[key].append(np.full(n, value))
        geoms.append(rects)
    data = {k: np.concatenate(v) for k, v in cols.items()}
    return gpd.GeoDataFrame(data, geometry=np.concatenate(geoms), crs=METRIC_CRS)


def build_layout(
    rng: np.random.Generator,
    centre: tuple[float, float],
    radius: float,
    district: BaseGeometry | None,
) -> Layout:
    """The whole physical city, deterministic for a given generator state."""
    axis = np.radians(rng.uniform(25, 45))  # the Jinjiang runs south-west → north-east
    outline = city_outline(rng, centre, radius, axis, district)
    centreline = river_centreline(rng, centre, radius, axis)
    frame = outline.buffer(1500.0)
    river = centreline.buffer(RIVER_HALF_WIDTH_M, cap_style="flat").intersection(frame)
    rows = main_roads(rng, outline, river, centreline, centre, radius, axis)
    super_faces = _faces([r[3] for r in rows], outline, river)
    locals_ = local_roads(rng, super_faces)
    rows += [("local", False, f"local:{i}", g) for i, g in enumerate(locals_)]
    levels, bridge, family, geoms = zip(*rows, strict=True)
    roads = gpd.GeoDataFrame(
        {"level": list(levels), "bridge": list(bridge), "family": list(family)},
        geometry=list(geoms),
        crs=METRIC_CRS,
    )
    block_geoms = _faces(list(geoms), outline, river)
    sides = shapely.get_parts(outline.difference(river))
    sides = sides[np.argsort(-shapely.area(sides))]
    side_of = np.full(len(block_geoms), -1)
    hit_block, hit_side = shapely.STRtree(sides).query(
        shapely.point_on_surface(block_geoms), predicate="within"
    )
    side_of[hit_block] = hit_side
    blocks = gpd.GeoDataFrame({"side": side_of}, geometry=block_geoms, crs=METRIC_CRS)
    land = buildable_areas(block_geoms, roads[~roads["bridge"]], river)
    parcel_frame = parcels(rng, land, np.arange(len(block_geoms)), centre, radius)
    footprints = buildings(rng, parcel_frame)
    return Layout(centre, radius, outline, river, roads, blocks, parcel_frame, footprints)
