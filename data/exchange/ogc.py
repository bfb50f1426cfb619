"""Queries behind OGC API – Features (Part 1 core, Part 2 CRS by reference).

Collections are the public layers of ``data/exchange/layers.py`` only (never household tables).
Geometry is transformed in PostGIS; coordinates are written in the axis order of the requested
CRS, as Part 2 requires: CRS84 and EPSG:3857 are east/north, EPSG:4490 is latitude/longitude and the
CGCS2000 Gauss–Krüger zones (EPSG:4534–4554) are northing/easting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS
from sqlalchemy import Connection, text

from data.exchange.layers import PUBLIC_LAYERS, Layer
from geo.crs import GK_FIRST_EPSG, GK_LAST_EPSG

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"


class OGCError(ValueError):
    """A request parameter the OGC API cannot honour (400)."""


class OGCNotFound(LookupError):
    """No such collection or feature (404)."""


@dataclass(frozen=True)
class CrsChoice:
    uri: str
    srid: int
    flip: bool  # first axis is north (latitude / northing)


@lru_cache(maxsize=64)
def parse_crs(uri: str | None) -> CrsChoice:
    """A CRS URI (CRS84, EPSG 4490, 4534–4554, 3857) → SRID and axis order."""
    if uri is None or uri in (CRS84, "CRS84", "[OGC:CRS84]"):
        return CrsChoice(CRS84, 4326, False)
    code = uri.strip("[]<>").rsplit("/", 1)[-1].replace("EPSG:", "")
    if not code.isdigit():
        raise OGCError(f"不支持的坐标系 {uri}")
    srid = int(code)
    if srid not in supported_srids():
        raise OGCError(f"不支持的坐标系 {uri}：请使用数据集 crs 列表中的坐标系")
    axis = CRS.from_epsg(srid).axis_info[0].direction.lower()
    return CrsChoice(EPSG_URI + code, srid, axis == "north")


def supported_srids() -> tuple[int, ...]:
    return (4326, 4490, 3857, *range(GK_FIRST_EPSG, GK_LAST_EPSG + 1))


def crs_list(gk_epsg: int) -> list[str]:
    """The CRSs a collection offers: CRS84 first (the default), CGCS2000, its GK zone, 3857."""
    return [CRS84, f"{EPSG_URI}4490", f"{EPSG_URI}{gk_epsg}", f"{EPSG_URI}3857"]


def collection(name: str) -> Layer:
    layer = PUBLIC_LAYERS.get(name)
    if layer is None:
        raise OGCNotFound(f"没有数据集 {name}")
    return layer


def extent(conn: Connection, layer: Layer) -> list[float] | None:
    """The layer's bounding box in CRS84 (``[xmin, ymin, xmax, ymax]``), None when empty."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            f"FROM (SELECT ST_Extent(geom) AS e FROM ({layer.select}) q) x"
        ),
        {"prefix": ""},
    ).one()
    return None if row[0] is None else [float(v) for v in row]


def schema(layer: Layer) -> dict:
    """A JSON Schema of the layer's features (the ``describedby`` link and the queryables),
    so GDAL and QGIS learn the field types without guessing from the first page."""
    properties: dict[str, dict] = {f.name: {"title": f.label, "type": f.kind} for f in layer.fields}
    properties["geometry"] = {"format": "geometry-any"}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
        "title": layer.title,
        "properties": properties,
    }


def _geom_sql(out: CrsChoice) -> str:
    expr = "ST_Transform(geom, :srid)" if out.srid != 4490 else "geom"
    if out.flip:
        expr = f"ST_FlipCoordinates({expr})"
    decimals = 9 if CRS.from_epsg(out.srid).is_geographic else 4
    return f"ST_AsGeoJSON({expr}, {decimals}, 0)"


def items(
    conn: Connection,
    layer: Layer,
    *,
    out: CrsChoice,
    bbox: list[float] | None,
    bbox_crs: CrsChoice,
    limit: int,
    offset: int,
    fid: str | None = None,
) -> tuple[list[dict], int]:
    """GeoJSON features in ``out`` and the number matched (before paging)."""
    where, params = ["true"], {"prefix": "", "srid": out.srid}
    if bbox is not None:
        if len(bbox) != 4:
            raise OGCError("bbox 应为四个数字（二维）")
        x1, y1, x2, y2 = bbox
        if bbox_crs.flip:  # the bbox comes in the CRS's own axis order
            x1, y1, x2, y2 = y1, x1, y2, x2
        params |= {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "bsrid": bbox_crs.srid}
        where.append(
            "ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(:x1, :y1, :x2, :y2, :bsrid), 4490))"
        )
    if fid is not None:
        where.append(f"{layer.id_field}::text = :fid")
        params["fid"] = fid
    base = f"FROM ({layer.select}) q WHERE {' AND '.join(where)}"
    matched = conn.execute(text(f"SELECT count(*) {base}"), params).scalar_one()
    names = [f.name for f in layer.fields]
    rows = conn.execute(
        text(
            f"SELECT {', '.join(names)}, {_geom_sql(out)} AS gj {base} "
            f"ORDER BY {layer.id_field} LIMIT :limit OFFSET :offset"
        ),
        params | {"limit": limit, "offset": offset},
    ).fetchall()
    features = [
        {
            "type": "Feature",
            "id": str(row[0]) if layer.id_field == names[0] else None,
            "geometry": json.loads(row[-1]),
            "properties": dict(zip(names, row[:-1], strict=True)),
        }
        for row in rows
    ]
    return features, matched
