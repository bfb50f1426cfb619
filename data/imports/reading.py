"""Reading what communities bring: vector layers (Shapefile, zipped or not; GeoPackage; GeoJSON;
FlatGeobuf) into EPSG:4490, and tables (xlsx, CSV) as text.

Every frame comes back with ``_file`` and ``_row``: the file (inside a zip, its path there) and
the row as the user numbers it (features from 1; table rows as Excel shows them, blank rows
counted), so that every report names what the user can find.
"""

from __future__ import annotations

import codecs
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from data.imports.limits import InputLimits, check_size, check_vertices, check_zip
from data.imports.report import ImportRejected, refuse
from geo.targets import offset_crs, to_storage

VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb")
TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
CPG_CODECS = {"936": "gbk", "cp936": "gbk", "gb2312": "gbk", "gb18030": "gb18030", "65001": "utf-8"}


def _reason(exc: Exception, data: Path, label: str) -> str:
    """The first line of a reader's message, naming the file as the user does (never the
    server's temporary paths)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.replace(str(data), label).replace(tempfile.gettempdir(), "…")


def _not_empty(path: Path, label: str) -> None:
    if path.stat().st_size == 0:
        refuse(label, "empty_file", "文件是空的")


def dbf_encoding(dbf: Path, cpg: Path | None, label: str) -> str:
    """The .dbf's text encoding: the .cpg's when there is one, else UTF-8 or GBK, whichever
    decodes both the field names in the header and the records."""
    if cpg is not None:
        name = cpg.read_text(encoding="ascii", errors="replace").strip()
        try:
            return codecs.lookup(CPG_CODECS.get(name.lower(), name)).name
        except LookupError:
            refuse(label, "unknown_encoding", f".cpg 文件中的编码 {name!r} 无法识别")
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else 0
    names = b"".join(
        raw[at : at + 11].split(b"\0", 1)[0] for at in range(32, max(header_len - 1, 32), 32)
    )
    text = names + b"\n" + raw[header_len:]
    for codec in ("utf-8", "gbk"):
        try:
            text.decode(codec)
            return codec
        except UnicodeDecodeError:
            continue
    refuse(label, "unknown_encoding", ".dbf 的文字编码既不是 UTF-8 也不是 GBK，请附上 .cpg 文件")


@contextmanager
def _unpacked(path: Path, label: str, limits: InputLimits) -> Iterator[list[tuple[Path, str]]]:
    """The datasets in ``path`` with their labels: the file itself, or the layer files of a
    zip (a layer split by geometry type into several shapefiles comes back whole)."""
    if path.suffix.lower() != ".zip":
        yield [(path, label)]
        return
    if not zipfile.is_zipfile(path):
        refuse(label, "corrupt_zip", "压缩包损坏或不完整")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(path) as zf:
                check_zip(zf, label, limits)
                bad = zf.testzip()
                if bad is not None:
                    refuse(label, "corrupt_zip", f"压缩包成员 {bad} 损坏")
                zf.extractall(tmp)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            refuse(label, "corrupt_zip", f"压缩包损坏（{_reason(exc, path, label)}）")
        found = sorted(
            p
            for p in Path(tmp).rglob("*")
            if p.suffix.lower() in VECTOR_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            refuse(label, "no_layer_file", "压缩包中没有图层文件（.shp、.gpkg、.geojson 或 .fgb）")
        if len({p.suffix.lower() for p in found}) > 1:
            what = "、".join(p.name for p in found)
            refuse(label, "mixed_layer_files", f"请只放一种图层文件：{what}")
        yield [(p, f"{label}/{p.relative_to(tmp)}") for p in found]


def _sibling(path: Path, ext: str) -> Path | None:
    for p in path.parent.iterdir():
        if p.stem == path.stem and p.suffix.lower() == ext:
            return p
    return None


def read_vector(
    path: Path, label: str, declared: str | None = None, limits: InputLimits | None = None
) -> gpd.GeoDataFrame:
    """Read a Shapefile (bare or zipped), GeoPackage or GeoJSON, in EPSG:4490 afterwards.

    ``declared`` ("gcj02", "bd09", or an EPSG code) names the CRS when the file has none, or
    says that its longitude/latitude carry a web-map offset. A layer without features is
    refused. The CRS read is in ``attrs["source_crs"]``.
    """
    frames = []
    limits = limits or InputLimits()
    _not_empty(path, label)
    with _unpacked(path, label, limits) as datasets:
        for data, name in datasets:
            check_size(data, name, limits)
            gdf = _read_one(data, name)
            gdf["_file"], gdf["_row"] = name, np.arange(1, len(gdf) + 1)
            frames.append(gdf)
    # formats whose vertices are not counted before reading
    check_vertices(
        sum(int(shapely.get_num_coordinates(f.geometry.to_numpy()).sum()) for f in frames),
        label,
        limits,
    )
    if len({str(f.crs) for f in frames}) > 1:
        refuse(label, "mixed_crs", "各图层文件的坐标系不一致")
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    if gdf.empty:
        refuse(label, "empty_layer", "图层中没有任何要素")
    return _to_storage(gdf, label, declared)


def _read_one(data: Path, label: str) -> gpd.GeoDataFrame:
    encoding = None
    if data.suffix.lower() == ".shp":
        shx, dbf = _sibling(data, ".shx"), _sibling(data, ".dbf")
        if shx is None or dbf is None:
            missing = [ext for ext, path in ((".shx", shx), (".dbf", dbf)) if path is None]
            refuse(label, "missing_sidecar", f"Shapefile 缺少 {' 和 '.join(missing)} 文件")
        encoding = dbf_encoding(dbf, _sibling(data, ".cpg"), label)
    try:
        gdf = pyogrio.read_dataframe(data, encoding=encoding)
    except Exception as exc:  # GDAL's reasons are varied; all mean "unreadable"
        refuse(label, "unreadable", f"无法读取：{_reason(exc, data, label)}")
    gdf.columns = [c if c == "geometry" else str(c) for c in gdf.columns]
    return gdf


def _declared_crs(declared: str, crs: CRS | None, label: str) -> CRS:
    key = declared.strip().lower().replace("-", "").replace("epsg:", "")
    if key in ("gcj02", "bd09"):
        if crs is not None and not crs.is_geographic:
            refuse(label, "crs_mismatch", f"声明为 {declared}，但文件是投影坐标系")
        return offset_crs(key)
    try:
        given = CRS.from_user_input(int(key) if key.isdigit() else declared)
    except Exception:
        refuse(label, "unknown_crs", f"无法识别的坐标系 {declared!r}")
    if crs is not None and not crs.equals(given, ignore_axis_order=True):
        refuse(label, "crs_mismatch", f"文件声明的坐标系是 {crs.name}，不是 {declared}")
    return given


def _to_storage(gdf: gpd.GeoDataFrame, label: str, declared: str | None) -> gpd.GeoDataFrame:
    crs = _declared_crs(declared, gdf.crs, label) if declared else gdf.crs
    if crs is None:
        refuse(label, "no_crs", "没有坐标系（缺少 .prj 文件），请用 crs 声明")
    geoms = gdf.geometry.to_numpy()
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = np.array(geoms, dtype=object)
    out[valid] = to_storage(geoms[valid], crs)
    result = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=out, crs=4490)
    result.attrs["source_crs"] = crs.name
    return result


def read_table(
    path: Path, label: str, sheet: str | int = 0, limits: InputLimits | None = None
) -> pd.DataFrame:
    """All cells as text, with ``_file`` and ``_row`` (Excel's row numbers, the header being
    row 1, blank rows counted and then dropped); a table without rows is refused. A CSV may
    be UTF-8 (with or without BOM) or GBK; a spreadsheet (a zip) is checked against
    ``limits`` before it is opened."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        refuse(label, "not_a_table", "不是表格文件：请用 .xlsx 或 .csv")
    _not_empty(path, label)
    try:
        if suffix != ".csv" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                check_zip(zf, label, limits or InputLimits())
        table = _read_cells(path, label, sheet)
    except ImportRejected:
        raise
    except Exception as exc:  # calamine/pandas reasons vary; all mean "unreadable"
        refuse(label, "unreadable", f"无法读取：{_reason(exc, path, label)}")
    table.columns = [str(c) for c in table.columns]
    blank = (table.isna() | (table == "")).all(axis=1)
    table["_file"], table["_row"] = label, np.arange(2, len(table) + 2)
    if blank.all():
        refuse(label, "empty_table", "表格中没有数据行")
    return table[~blank.to_numpy()].reset_index(drop=True)


def _read_cells(path: Path, label: str, sheet: str | int) -> pd.DataFrame:
    if path.suffix.lower() != ".csv":
        return pd.read_excel(path, sheet_name=sheet, dtype=str, engine="calamine")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(
                path, dtype=str, encoding=encoding, keep_default_na=False, skip_blank_lines=False
            )
        except UnicodeDecodeError:
            continue
    refuse(label, "unknown_encoding", "文字编码既不是 UTF-8 也不是 GBK")
