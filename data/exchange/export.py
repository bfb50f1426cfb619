"""Export layers in the formats and coordinate systems city platforms ask for.

One core for ``wangge export`` and ``GET /api/v1/export``: read a layer
(``data/exchange/layers.py``) from PostGIS in EPSG:4490, convert it to the target
(``geo/targets.py``) with PROJ or the GCJ-02/BD-09 formulas, and write it with GDAL through
pyogrio. Formats that are several files (Shapefile, CSV with its ``.prj``) are zipped with a
``README.txt`` that says the layer, the CRS and the encoding; Shapefile field names are cut to 10
characters and the zip carries ``fields.csv`` mapping each short name to the full one and its
Chinese label.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Engine, text

from data.exchange.layers import LAYERS, Access, Layer
from data.models import AuditLog
from geo.crs import CRSError
from geo.targets import Target, from_storage, resolve


class ExportError(ValueError):
    """An export that cannot be made as asked (unknown layer, format, CRS or encoding)."""


class ExportForbidden(PermissionError):
    """A staff-only or personal layer asked for without an authorised actor."""


@dataclass(frozen=True)
class Format:
    name: str
    driver: str
    ext: str
    zipped: bool = False  # several files: delivered as one zip


FORMATS = {
    "gpkg": Format("gpkg", "GPKG", "gpkg"),
    "shp": Format("shp", "ESRI Shapefile", "shp", zipped=True),
    "geojson": Format("geojson", "GeoJSON", "geojson"),
    "fgb": Format("fgb", "FlatGeobuf", "fgb"),
    "kml": Format("kml", "KML", "kml"),
    "csv": Format("csv", "CSV", "csv", zipped=True),
}
FORMAT_ALIASES = {"shapefile": "shp", "flatgeobuf": "fgb", "json": "geojson", "gpkg": "gpkg"}
ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "cp936": "GBK"}
MEDIA_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "fgb": "application/flatgeobuf",
    "kml": "application/vnd.google-earth.kml+xml",
    "zip": "application/zip",
}


@dataclass
class Exported:
    """What was written: the file, its CRS, and how many features of which layers."""

    path: Path
    target: Target
    format: Format
    counts: dict[str, int] = field(default_factory=dict)
    encoding: str = "UTF-8"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES["zip" if self.format.zipped else self.format.name]

    def summary(self) -> str:
        layers = "、".join(f"{name} {n} 个要素" for name, n in self.counts.items())
        return f"{self.path.name}：{layers}；坐标系 {self.target.label}"


def parse_format(name: str) -> Format:
    key = FORMAT_ALIASES.get(name.lower(), name.lower())
    if key not in FORMATS:
        raise ExportError(f"不支持的格式 {name!r}，可选：{'、'.join(FORMATS)}")
    return FORMATS[key]


def parse_encoding(name: str) -> str:
    enc = ENCODINGS.get(name.lower())
    if enc is None:
        raise ExportError(f"不支持的编码 {name!r}，可选：UTF-8、GBK")
    return enc


def short_names(names: list[str], limit: int = 10) -> dict[str, str]:
    """Full field name → unique name of at most ``limit`` characters (dBASE's limit)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        short = name[:limit]
        n = 1
        while short.lower() in used:
            tail = str(n)
            short = name[: limit - len(tail)] + tail
            n += 1
        used.add(short.lower())
        out[name] = short
    return out


def read_layer(engine: Engine, layer: Layer, prefix: str = "") -> pd.DataFrame:
    """The layer's rows with a ``geometry`` column of shapely objects in EPSG:4490."""
    names = [f.name for f in layer.fields]
    sql = (
        f"SELECT {', '.join(names)}, ST_AsBinary(geom) AS wkb FROM ({layer.select}) q "
        f"ORDER BY {layer.id_field}"
    )
    with engine.connect() as conn:
        result = conn.execute(text(sql), {"prefix": prefix})
        rows = result.fetchall()
    columns: list[Sequence[Any]] = (
        list(zip(*rows, strict=True)) if rows else [[] for _ in range(len(names) + 1)]
    )
    frame = pd.DataFrame(
        {
            name: pd.Series(col, dtype=_dtype(f.kind))
            for name, col, f in zip(names, columns, layer.fields, strict=False)
        }
    )
    frame["geometry"] = shapely.from_wkb(np.asarray(columns[-1], dtype=object))
    return frame


def _dtype(kind: str) -> str:
    return "Int64" if kind == "integer" else "object"


def _centre_lon(geoms: np.ndarray) -> float | None:
    if len(geoms) == 0:
        return None
    xmin, _, xmax, _ = shapely.total_bounds(geoms)
    return float((xmin + xmax) / 2)


def check_access(layer: Layer, actor: str | None, reason: str | None) -> None:
    if layer.access is Access.public:
        return
    if not actor:
        raise ExportForbidden(f"图层 {layer.name} 只有登录的工作人员才能导出")
    if layer.access is Access.personal and not (reason and reason.strip()):
        raise ExportForbidden(f"图层 {layer.name} 含个人信息，导出时必须写明理由")


def export(
    engine: Engine,
    layer_names: list[str],
    fmt: str,
    crs: str,
    out_dir: Path,
    *,
    prefix: str = "",
    encoding: str = "UTF-8",
    actor: str | None = None,
    reason: str | None = None,
) -> Exported:
    """Write ``layer_names`` (several only for GeoPackage) into ``out_dir`` and say what was
    written. Personal layers are logged in ``audit_log`` with ``actor`` and ``reason``."""
    form = parse_format(fmt)
    enc = parse_encoding(encoding)
    layers = _layers_to_export(layer_names, form, actor, reason, prefix)
    frames = [read_layer(engine, layer, prefix) for layer in layers]
    lon = _centre_lon(np.concatenate([f["geometry"].to_numpy() for f in frames]))
    try:
        target = resolve(crs, lon if lon is not None else 109.0)
    except CRSError as exc:
        raise ExportError(str(exc)) from exc
    if form.name == "kml" and not target.geographic:
        raise ExportError("KML 只能存经纬度，坐标系请选 4326、4490、gcj02 或 bd09")

    stem = f"{'_'.join(layer_names)}_{target.key}"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = Exported(out_dir / f"{stem}.{'zip' if form.zipped else form.ext}", target, form)
    result.encoding = enc
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        work = Path(tmp)
        for layer, frame in zip(layers, frames, strict=True):
            frame["geometry"] = from_storage(frame["geometry"].to_numpy(), target)
            dest = work / (f"{stem}.{form.ext}" if not form.zipped else f"{layer.name}.{form.ext}")
            _write(frame, layer, form, target, dest, enc)
            result.counts[layer.name] = len(frame)
        if form.zipped:
            _readme(work, layers, result)
            _zip_into(work, result.path)
        else:
            os.replace(work / f"{stem}.{form.ext}", result.path)

    personal = [layer for layer in layers if layer.access is Access.personal]
    if personal:
        _audit(engine, personal, result, actor or "", reason, prefix)
    return result


def _layers_to_export(
    names: list[str], form: Format, actor: str | None, reason: str | None, prefix: str
) -> list[Layer]:
    """The layers named, once each is known, allowed to ``actor`` and fits the format."""
    if not names:
        raise ExportError("没有指定要导出的图层")
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ExportError(f"没有图层 {unknown[0]!r}，可选：{'、'.join(LAYERS)}")
    if len(names) > 1 and form.name != "gpkg":
        raise ExportError("只有 GeoPackage 能一次装下多个图层；其他格式请逐个图层导出")
    layers = [LAYERS[n] for n in names]
    for layer in layers:
        check_access(layer, actor, reason)
    if prefix and not (prefix.isdigit() and len(prefix) <= 12):
        raise ExportError(f"范围 {prefix!r} 不对：请填区县、街道或社区的代码")
    return layers


def _zip_into(work: Path, dest: Path) -> None:
    """Every file of ``work`` into the zip ``dest``, written aside and renamed when complete."""
    tmp_zip = work / "out.zip"
    with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(work.iterdir()):
            if path != tmp_zip:
                zf.write(path, path.name)
    os.replace(tmp_zip, dest)


def _write(
    frame: pd.DataFrame, layer: Layer, form: Format, target: Target, dest: Path, enc: str
) -> None:
    import geopandas as gpd

    geoms = frame.pop("geometry")
    gdf = gpd.GeoDataFrame(frame, geometry=geoms.to_numpy(), crs=target.crs)
    kwargs: dict = {"driver": form.driver, "layer": layer.name}
    if form.name == "shp":
        mapping = short_names(list(frame.columns))
        gdf = gdf.rename(columns=mapping)
        _write_mapping(dest.parent / "fields.csv", layer, mapping)
        kwargs["encoding"] = enc
        kinds = shapely.get_type_id(gdf.geometry.to_numpy())
        families = np.where(kinds == 0, "point", np.where(np.isin(kinds, (3, 6)), "polygon", "x"))
        if len(set(families)) > 1:  # a shapefile holds one geometry type: one file per family
            for fam in sorted(set(families)):
                part = gdf[families == fam]
                pyogrio.write_dataframe(
                    part, dest.with_name(f"{dest.stem}_{fam}.shp"), **{**kwargs, "layer": None}
                )
            return
    elif form.name == "geojson":
        kwargs["layer_options"] = {"COORDINATE_PRECISION": str(target.decimals), "RFC7946": "NO"}
    elif form.name == "csv":
        kwargs["layer_options"] = {"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"}
        dest.with_suffix(".prj").write_text(target.crs.to_wkt("WKT1_ESRI"), encoding="ascii")
    elif form.name == "gpkg":
        kwargs["append"] = dest.exists()
    pyogrio.write_dataframe(gdf, dest, **kwargs)


def _write_mapping(path: Path, layer: Layer, mapping: dict[str, str]) -> None:
    labels = {f.name: f.label for f in layer.fields}
    new = not path.exists()
    with path.open("a", encoding="utf-8-sig" if new else "utf-8", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(["layer", "short_name", "field", "label"])
        for full, short in mapping.items():
            writer.writerow([layer.name, short, full, labels.get(full, "")])


def _readme(work: Path, layers: list[Layer], result: Exported) -> None:
    buf = io.StringIO()
    buf.write("Wangge export 网格数据导出\n\n")
    for layer in layers:
        buf.write(f"layer {layer.name} ({layer.title}): {result.counts[layer.name]} features\n")
    buf.write(f"CRS 坐标系: {result.target.label}\n")
    if result.target.offset:
        buf.write(
            "The coordinates carry a Chinese web-map offset and are not in an EPSG system; "
            "the forward formula is the published one, about 1 m against the vendor's own.\n"
        )
    buf.write(f"Text encoding 编码: {result.encoding}\n")
    if result.format.name == "shp":
        buf.write("Field names are cut to 10 characters; fields.csv maps them to full names.\n")
    if result.format.name == "csv":
        buf.write("Geometry is the WKT column; the .prj next to the CSV gives its CRS.\n")
    (work / "README.txt").write_text(buf.getvalue(), encoding="utf-8")


def _audit(
    engine: Engine,
    layers: list[Layer],
    result: Exported,
    actor: str,
    reason: str | None,
    prefix: str,
) -> None:
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        for layer in layers:
            session.add(
                AuditLog(
                    actor=actor,
                    action="export",
                    object_type=layer.name,
                    object_id=prefix or None,
                    reason=reason,
                    detail={
                        "features": result.counts[layer.name],
                        "format": result.format.name,
                        "crs": result.target.key,
                        "file": result.path.name,
                    },
                )
            )
