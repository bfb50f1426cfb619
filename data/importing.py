"""Import what communities bring: building and compound layers, and the household 一张表.

One core behind ``wangge import`` and ``POST /api/v1/import/...``. Everything is read and checked
first; any problem ends in :class:`ImportRejected` carrying a report (file, row, column,
problem) and nothing is written. The writes run on the caller's connection, inside the caller's
transaction, so the import commits as a whole or not at all.

Rows are numbered as a person would find them: features from 1 in file order, spreadsheet rows
as Excel shows them (the header is row 1).
"""

from __future__ import annotations

import codecs
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from sqlalchemy import Connection, text

from geo import offsets
from geo.targets import offset_crs, to_storage

Progress = Callable[[str, int, int], None]
MAX_REPORTED = 1000
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb")
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


@dataclass(frozen=True)
class InputLimits:
    """What an uploaded file may hold; checked before it is unpacked, parsed or loaded."""

    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_zip_ratio: int = 200
    max_zip_members: int = 1000
    max_vertices: int = 5_000_000
    max_json_depth: int = 64

    @classmethod
    def of(cls, settings) -> InputLimits:
        return cls(
            max_uncompressed_bytes=settings.max_uncompressed_bytes,
            max_zip_ratio=settings.max_zip_ratio,
            max_vertices=settings.max_vertices,
            max_json_depth=settings.max_json_depth,
        )


@dataclass(frozen=True)
class Issue:
    file: str
    row: int | None
    column: str | None
    problem: str

    def line(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column {self.column}"
        return f"{where}: {self.problem}"


class ImportRejected(ValueError):
    """The input has problems; nothing was imported."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        first = issues[0].line() if issues else "no detail"
        super().__init__(f"{len(issues)} problem(s), nothing imported; first: {first}")


@dataclass
class Imported:
    kind: str
    file: str
    inserted: int = 0
    updated: int = 0
    crs: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        crs = f" (read as {self.crs})" if self.crs else ""
        return f"{self.file}: {self.inserted} {self.kind} added, {self.updated} updated{crs}"


# ---------------------------------------------------------------------------------------------
# Reading vector files


def _norm_name(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().lower()


CPG_CODECS = {"936": "gbk", "cp936": "gbk", "gb2312": "gbk", "gb18030": "gb18030", "65001": "utf-8"}


def _dbf_encoding(dbf: Path, cpg: Path | None, label: str) -> tuple[str | None, Issue | None]:
    """The .dbf's text encoding: the .cpg's when there is one, else UTF-8 or GBK by decoding."""
    if cpg is not None:
        name = cpg.read_text(encoding="ascii", errors="replace").strip()
        key = CPG_CODECS.get(name.lower(), name)
        try:
            return codecs.lookup(key).name, None
        except LookupError:
            return None, Issue(label, None, None, f"unknown encoding {name!r} in the .cpg file")
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else 0
    body = raw[header_len:]
    for codec in ("utf-8", "gbk"):
        try:
            body.decode(codec)
            return codec, None
        except UnicodeDecodeError:
            continue
    return None, Issue(
        label, None, None, "unknown text encoding in the .dbf (neither UTF-8 nor GBK); add a .cpg"
    )


def check_zip(zf: zipfile.ZipFile, label: str, limits: InputLimits) -> None:
    """Refuse a zip bomb from its directory, before anything is decompressed: too many
    members, too many bytes once extracted, or a member compressed beyond any real data's
    ratio. (Extraction stops at each member's declared size, so a member cannot lie.)"""
    members = zf.infolist()
    if len(members) > limits.max_zip_members:
        raise ImportRejected(
            [
                Issue(
                    label,
                    None,
                    None,
                    f"the zip holds {len(members)} files (at most {limits.max_zip_members})",
                )
            ]
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise ImportRejected(
            [
                Issue(
                    label,
                    None,
                    None,
                    f"the zip unpacks to {total / 2**20:.0f} MiB (at most "
                    f"{limits.max_uncompressed_bytes / 2**20:.0f} MiB)",
                )
            ]
        )
    for m in members:
        if m.file_size > 2**20 and m.file_size > limits.max_zip_ratio * max(m.compress_size, 1):
            raise ImportRejected(
                [
                    Issue(
                        label,
                        None,
                        None,
                        f"zip member {m.filename} is compressed "
                        f"{m.file_size // max(m.compress_size, 1)}:1 (a zip bomb?)",
                    )
                ]
            )


def check_json_depth(path: Path, label: str, max_depth: int) -> None:
    """Refuse JSON nested deeper than ``max_depth``, streaming, before any parser sees it."""
    depth, in_string, escaped = 0, False, False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            for byte in chunk:
                if in_string:
                    if escaped:
                        escaped = False
                    elif byte == 0x5C:  # backslash
                        escaped = True
                    elif byte == 0x22:
                        in_string = False
                elif byte == 0x22:
                    in_string = True
                elif byte in (0x5B, 0x7B):  # [ {
                    depth += 1
                    if depth > max_depth:
                        raise ImportRejected(
                            [
                                Issue(
                                    label, None, None, f"JSON nested deeper than {max_depth} levels"
                                )
                            ]
                        )
                elif byte in (0x5D, 0x7D):
                    depth -= 1


SHP_MULTI_POINT_TYPES = {3, 5, 8, 13, 15, 18, 23, 25, 28, 31}


def shapefile_vertices(shp: Path) -> int:
    """Vertices of a .shp from its record headers alone (seeks past the coordinates)."""
    total = 0
    with shp.open("rb") as fh:
        fh.seek(100)
        while header := fh.read(12):
            if len(header) < 12:
                break
            length = int.from_bytes(header[4:8], "big") * 2  # content bytes, shape type incl.
            kind = int.from_bytes(header[8:12], "little")
            if kind in SHP_MULTI_POINT_TYPES:
                # box (32 bytes), then numPoints (multipoints) or numParts and numPoints
                head = fh.read(40)
                if len(head) < 40:
                    break
                at = 32 if kind in (8, 18, 28) else 36
                total += int.from_bytes(head[at : at + 4], "little")
                read = 4 + 40
            elif kind in (1, 11, 21):
                total, read = total + 1, 4
            else:
                read = 4
            fh.seek(length - read, 1)
    return total


def _check_size(data: Path, label: str, limits: InputLimits) -> None:
    suffix = data.suffix.lower()
    if suffix in (".geojson", ".json"):
        check_json_depth(data, label, limits.max_json_depth)
    if suffix == ".shp":
        vertices = shapefile_vertices(data)
        if vertices > limits.max_vertices:
            raise ImportRejected(
                [Issue(label, None, None, f"{vertices} vertices (at most {limits.max_vertices})")]
            )


@contextmanager
def _unpacked(
    path: Path, label: str, limits: InputLimits | None = None
) -> Iterator[list[tuple[Path, str]]]:
    """The datasets in ``path`` with their labels: the file itself, or the layer files of a
    zip (a layer split by geometry type into several shapefiles comes back whole)."""
    limits = limits or InputLimits()
    if path.suffix.lower() != ".zip":
        yield [(path, label)]
        return
    if not zipfile.is_zipfile(path):
        raise ImportRejected([Issue(label, None, None, "corrupt or truncated zip file")])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(path) as zf:
                check_zip(zf, label, limits)
                bad = zf.testzip()
                if bad is not None:
                    raise ImportRejected([Issue(label, None, None, f"corrupt zip member {bad}")])
                zf.extractall(tmp)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ImportRejected([Issue(label, None, None, f"corrupt zip file ({exc})")]) from exc
        found = sorted(
            p
            for p in Path(tmp).rglob("*")
            if p.suffix.lower() in VECTOR_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            raise ImportRejected([Issue(label, None, None, "the zip holds no layer file")])
        if len({p.suffix.lower() for p in found}) > 1:
            what = ", ".join(p.name for p in found)
            raise ImportRejected(
                [Issue(label, None, None, f"one kind of layer file please: {what}")]
            )
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
    says that its longitude/latitude carry a web-map offset.
    """
    frames = []
    limits = limits or InputLimits()
    with _unpacked(path, label, limits) as datasets:
        for data, name in datasets:
            _check_size(data, name, limits)
            gdf = _read_one(data, name)
            gdf["_file"], gdf["_row"] = name, np.arange(1, len(gdf) + 1)
            frames.append(gdf)
    vertices = sum(int(shapely.get_num_coordinates(f.geometry.to_numpy()).sum()) for f in frames)
    if vertices > limits.max_vertices:  # formats whose vertices are not counted before reading
        raise ImportRejected(
            [Issue(label, None, None, f"{vertices} vertices (at most {limits.max_vertices})")]
        )
    crs = {str(f.crs) for f in frames}
    if len(crs) > 1:
        raise ImportRejected([Issue(label, None, None, "the layer files have different CRSs")])
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    return _to_storage(gdf, label, declared)


def _read_one(data: Path, label: str) -> gpd.GeoDataFrame:
    encoding = None
    if data.suffix.lower() == ".shp":
        missing = [ext for ext in (".shx", ".dbf") if _sibling(data, ext) is None]
        if missing:
            raise ImportRejected(
                [Issue(label, None, None, f"the shapefile has no {' or '.join(missing)} file")]
            )
        encoding, issue = _dbf_encoding(_sibling(data, ".dbf"), _sibling(data, ".cpg"), label)
        if issue:
            raise ImportRejected([issue])
    try:
        gdf = pyogrio.read_dataframe(data, encoding=encoding)
    except Exception as exc:  # GDAL's reasons are varied; all mean "unreadable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportRejected([Issue(label, None, None, f"cannot read: {reason}")]) from exc
    gdf.columns = [c if c == "geometry" else str(c) for c in gdf.columns]
    return gdf


def _to_storage(gdf: gpd.GeoDataFrame, label: str, declared: str | None) -> gpd.GeoDataFrame:
    crs = gdf.crs
    if declared:
        key = declared.strip().lower().replace("-", "").replace("epsg:", "")
        if key in ("gcj02", "bd09"):
            if crs is not None and not crs.is_geographic:
                raise ImportRejected(
                    [Issue(label, None, None, f"declared {declared} but the file is projected")]
                )
            crs = offset_crs(key)
        else:
            try:
                given = CRS.from_user_input(int(key) if key.isdigit() else declared)
            except Exception as exc:
                raise ImportRejected(
                    [Issue(label, None, None, f"unknown CRS {declared!r}")]
                ) from exc
            if crs is not None and not crs.equals(given, ignore_axis_order=True):
                raise ImportRejected(
                    [Issue(label, None, None, f"the file declares {crs.name}, not {declared}")]
                )
            crs = given
    if crs is None:
        raise ImportRejected(
            [Issue(label, None, None, "no coordinate system (.prj missing); declare one with crs")]
        )
    geoms = gdf.geometry.to_numpy()
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = np.array(geoms, dtype=object)
    out[valid] = to_storage(geoms[valid], crs)
    result = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=out, crs=4490)
    result.attrs["source_crs"] = crs.name
    return result


# ---------------------------------------------------------------------------------------------
# Column mappings


BUILDING_COLUMNS = {
    "id": ("id", "building_id", "楼栋编号"),
    "name": ("name", "楼栋", "楼栋名称", "楼号", "名称"),
    "road": ("road", "路名", "街路巷", "道路"),
    "door_number": ("door_number", "door_numbe", "门牌号", "门牌"),
    "kind": ("kind", "类型", "建筑类型"),
    "floors": ("floors", "层数", "楼层数", "总层数"),
    "compound_id": ("compound_id", "compound_i", "小区编号"),
    "community_code": ("community_code", "community_", "社区代码"),
}
COMPOUND_COLUMNS = {
    "id": ("id", "compound_id", "小区编号"),
    "name": ("name", "小区名称", "小区", "名称"),
    "community_code": ("community_code", "community_", "社区代码"),
}
HOUSEHOLD_COLUMNS = {
    "head_name": ("head_name", "户主姓名", "户主", "姓名"),
    "head_phone": ("head_phone", "联系电话", "电话", "手机号", "手机"),
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码"),
    "members": ("members", "人数", "家庭人口", "户内人数", "人口数"),
    "address": ("address", "地址", "住址"),
    "road": ("road", "路名", "街路巷", "道路"),
    "door_number": ("door_number", "门牌号", "门牌"),
    "building": ("building", "楼栋", "楼号", "楼栋名称"),
    "unit": ("unit", "单元", "单元号"),
    "floor": ("floor", "楼层", "层"),
    "room": ("room", "房号", "房间号", "室号"),
}
KINDS = {
    "tower": "tower",
    "高层": "tower",
    "midrise": "midrise",
    "多层": "midrise",
    "house": "house",
    "自建房": "house",
    "平房": "house",
    "other": "other",
    "其他": "other",
}


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """``["户主=head_name", ...]`` → {file column: field}."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ImportRejected([Issue("mapping", None, pair, "write 表头=field")])
        column, name = pair.split("=", 1)
        out[column.strip()] = name.strip()
    return out


def map_columns(
    columns: list[str], known: dict[str, tuple[str, ...]], mapping: dict[str, str], label: str
) -> tuple[dict[str, str], list[Issue]]:
    """{field: file column} from the explicit mapping, then the known synonyms."""
    issues = [
        Issue(label, None, col, f"mapping names unknown field {name!r}")
        for col, name in mapping.items()
        if name not in known
    ]
    issues += [
        Issue(label, None, col, "mapping names a column that is not in the file")
        for col in mapping
        if col not in columns
    ]
    found: dict[str, str] = {name: col for col, name in mapping.items() if col in columns}
    normalised = {_norm_name(c): c for c in columns}
    for name, synonyms in known.items():
        if name in found:
            continue
        for syn in synonyms:
            if _norm_name(syn) in normalised:
                found[name] = normalised[_norm_name(syn)]
                break
    return found, issues


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().replace("", pd.NA)


def _key(*parts: pd.Series) -> pd.Series:
    joined = parts[0].fillna("")
    for part in parts[1:]:
        joined = joined + part.fillna("")
    return joined.map(lambda s: re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)))


# ---------------------------------------------------------------------------------------------
# Buildings and compounds


def _areas(conn: Connection, community: str | None) -> gpd.GeoDataFrame:
    sql = "SELECT code, ST_AsBinary(geom) AS wkb FROM community"
    rows = conn.execute(
        text(sql + (" WHERE code = :c" if community else "")), {"c": community}
    ).fetchall()
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows]},
        geometry=shapely.from_wkb([bytes(r[1]) for r in rows]),
        crs=4490,
    )


def check_location(
    gdf: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, label: str, source_crs: str
) -> tuple[np.ndarray, list[Issue]]:
    """Community code of each feature's representative point, or issues saying why not.

    Features off their community are tested for the usual mistakes: longitude and latitude
    swapped, and GCJ-02 coordinates read as plain WGS 84 (about 500–600 m off in China).
    """
    pts = shapely.point_on_surface(gdf.geometry.to_numpy())
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    tree = shapely.STRtree(areas.geometry.to_numpy())
    hit_pt, hit_area = tree.query(pts, predicate="within")
    codes = np.full(len(pts), None, dtype=object)
    codes[hit_pt] = areas["code"].to_numpy()[hit_area]
    issues: list[Issue] = []
    outside = np.flatnonzero(pd.isna(codes))
    if len(outside) == 0:
        return codes, issues
    gx, gy = offsets.gcj02_to_wgs84(x[outside], y[outside])
    gcj_pts = shapely.points(gx, gy)
    gcj_hit = np.zeros(len(outside), dtype=bool)
    gcj_hit[np.unique(tree.query(gcj_pts, predicate="within")[0])] = True
    for k, i in enumerate(outside):
        if CHINA_LON[0] <= y[i] <= CHINA_LON[1] and CHINA_LAT[0] <= x[i] <= CHINA_LAT[1]:
            problem = f"longitude and latitude look swapped ({x[i]:.6f}, {y[i]:.6f})"
        elif gcj_hit[k]:
            problem = (
                f"coordinates look like GCJ-02 (AMap/Tencent; about "
                f"{_metres(x[i], y[i], gx[k], gy[k]):.0f} m off); declare crs gcj02"
            )
        else:
            problem = (
                f"outside the community at ({x[i]:.6f}, {y[i]:.6f}) after reading as {source_crs}"
            )
        issues.append(Issue(*_at(gdf, i), "geometry", problem))
    return codes, issues


def _metres(x0: float, y0: float, x1: float, y1: float) -> float:
    dy = (y1 - y0) * 111_320.0
    dx = (x1 - x0) * 111_320.0 * np.cos(np.radians(y0))
    return float(np.hypot(dx, dy))


def _geometry_issues(
    gdf: gpd.GeoDataFrame, allowed: set[str], mixable: set[str] | None = None
) -> list[Issue]:
    """Missing, invalid and unaccepted geometries, and files that mix geometry types.

    ``mixable`` are the kinds that may share a file (buildings: footprints and points).
    """
    issues: list[Issue] = []
    for _, part in gdf.groupby("_file", sort=False):
        issues += _geometry_issues_of(part.reset_index(drop=True), allowed, mixable or set())
    return issues


def _geometry_issues_of(gdf: gpd.GeoDataFrame, allowed: set[str], mixable: set[str]) -> list[Issue]:
    geoms = gdf.geometry.to_numpy()
    issues: list[Issue] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    issues += [Issue(*_at(gdf, i), "geometry", "no geometry") for i in np.flatnonzero(missing)]
    kinds = pd.Series(shapely.get_type_id(geoms)).map(
        {0: "point", 3: "polygon", 6: "polygon", 1: "line", 5: "line", 4: "point"}
    )
    kinds[missing] = None
    present = set(kinds.dropna())
    for kind in sorted(present - allowed):
        first = int(np.flatnonzero(kinds == kind)[0])
        issues.append(Issue(*_at(gdf, first), "geometry", f"{kind} geometries are not accepted"))
    if len(present) > 1 and not present <= mixable:
        counts = kinds.value_counts()
        minority = counts.idxmin()
        where = np.flatnonzero(kinds == minority)
        rows = gdf["_row"].to_numpy()[where]
        listed = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        issues.append(
            Issue(
                *_at(gdf, int(where[0])),
                "geometry",
                f"mixed geometry types in one file "
                f"({', '.join(f'{n} {k}' for k, n in counts.items())}); "
                f"{minority} at rows {listed}",
            )
        )
    invalid = ~missing & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid)[:MAX_REPORTED]:
        issues.append(
            Issue(*_at(gdf, i), "geometry", f"invalid: {shapely.is_valid_reason(geoms[i])}")
        )
    return issues


def _int_column(
    frame: pd.DataFrame, name: str, label: str, issues: list[Issue], column: str, *, low: int = 1
) -> pd.Series:
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & (values.isna() | (values % 1 != 0) | (values < low))
    for i in np.flatnonzero(bad)[:MAX_REPORTED]:
        issues.append(
            Issue(*_at(frame, i), column, f"{raw.iloc[i]!r} is not a whole number ≥ {low}")
        )
    return values.where(~bad).astype("Int64")


def _at(frame: pd.DataFrame, i: int) -> tuple[str, int]:
    """(file, row) of row ``i`` of a frame read by read_vector or read_table."""
    return str(frame["_file"].iloc[i]), int(frame["_row"].iloc[i])


def _duplicates(frame: pd.DataFrame, name: str, label: str, column: str, what: str) -> list[Issue]:
    ids = frame[name]
    dup = ids.notna() & ids.duplicated(keep="first")
    return [
        Issue(*_at(frame, i), column, f"duplicate {what} {ids.iloc[i]}")
        for i in np.flatnonzero(dup)[:MAX_REPORTED]
    ]


def import_buildings(
    conn: Connection,
    path: Path,
    *,
    community: str | None = None,
    declared_crs: str | None = None,
    mapping: dict[str, str] | None = None,
    label: str | None = None,
    progress: Progress | None = None,
    limits: InputLimits | None = None,
) -> Imported:
    """Add or update buildings from a layer file; rows with an ``id`` update that building."""
    label = label or path.name
    gdf = read_vector(path, label, declared_crs, limits)
    frame, columns, issues = _prepare(gdf, BUILDING_COLUMNS, mapping, label)
    for required in ("road", "door_number", "floors"):
        if required not in columns:
            issues.append(Issue(label, None, required, "required column missing"))
    issues += _geometry_issues(gdf, {"polygon", "point"}, mixable={"polygon", "point"})
    if issues:
        raise ImportRejected(issues)
    if progress:
        progress("checking buildings", 0, len(frame))
    frame["floors"] = _int_column(frame, "floors", label, issues, columns["floors"])
    frame["id"] = _int_column(frame, "id", label, issues, columns.get("id", "id"))
    frame["compound_id"] = _int_column(
        frame, "compound_id", label, issues, columns.get("compound_id", "compound_id")
    )
    for name in ("road", "door_number", "floors"):
        for i in np.flatnonzero(frame[name].isna().to_numpy())[:MAX_REPORTED]:
            issues.append(Issue(*_at(frame, i), columns[name], "empty"))
    kinds = frame["kind"].fillna("other").map(lambda k: KINDS.get(_norm_name(k)))
    for i in np.flatnonzero(kinds.isna().to_numpy())[:MAX_REPORTED]:
        issues.append(
            Issue(*_at(frame, i), columns["kind"], f"unknown kind {frame['kind'].iloc[i]!r}")
        )
    frame["kind"] = kinds
    issues += _duplicates(frame, "id", label, columns.get("id", "id"), "building id")
    issues += _located(conn, gdf, frame, community, label)
    issues += _existing(conn, frame, "building", label, columns.get("id", "id"))
    issues += _existing(
        conn,
        frame,
        "compound",
        label,
        columns.get("compound_id", "compound_id"),
        id_column="compound_id",
    )
    if issues:
        raise ImportRejected(issues)
    result = _write(
        conn,
        frame,
        gdf,
        "building",
        ("community_code", "compound_id", "name", "road", "door_number", "kind", "floors"),
    )
    result.file, result.crs = label, gdf.attrs.get("source_crs", "")
    if progress:
        progress("checking buildings", len(frame), len(frame))
    return result


def import_compounds(
    conn: Connection,
    path: Path,
    *,
    community: str | None = None,
    declared_crs: str | None = None,
    mapping: dict[str, str] | None = None,
    label: str | None = None,
    progress: Progress | None = None,
    limits: InputLimits | None = None,
) -> Imported:
    """Add or update compounds (小区) from a polygon layer; rows with an ``id`` update it."""
    label = label or path.name
    gdf = read_vector(path, label, declared_crs, limits)
    frame, columns, issues = _prepare(gdf, COMPOUND_COLUMNS, mapping, label)
    if "name" not in columns:
        issues.append(Issue(label, None, "name", "required column missing"))
    issues += _geometry_issues(gdf, {"polygon"})
    if issues:
        raise ImportRejected(issues)
    geoms = gdf.geometry.to_numpy()
    multi = np.flatnonzero(shapely.get_num_geometries(geoms) > 1)
    issues += [
        Issue(*_at(gdf, i), "geometry", "a compound is one polygon; this has several parts")
        for i in multi[:MAX_REPORTED]
    ]
    gdf = gdf.set_geometry(
        np.where(shapely.get_type_id(geoms) == 6, shapely.get_geometry(geoms, 0), geoms)
    )
    frame["id"] = _int_column(frame, "id", label, issues, columns.get("id", "id"))
    for i in np.flatnonzero(frame["name"].isna().to_numpy())[:MAX_REPORTED]:
        issues.append(Issue(*_at(frame, i), columns["name"], "empty"))
    issues += _duplicates(frame, "id", label, columns.get("id", "id"), "compound id")
    issues += _located(conn, gdf, frame, community, label)
    issues += _existing(conn, frame, "compound", label, columns.get("id", "id"))
    if issues:
        raise ImportRejected(issues)
    result = _write(conn, frame, gdf, "compound", ("community_code", "name"))
    result.file, result.crs = label, gdf.attrs.get("source_crs", "")
    if progress:
        progress("checking compounds", len(frame), len(frame))
    return result


def _prepare(
    gdf: gpd.GeoDataFrame, known: dict, mapping: dict[str, str] | None, label: str
) -> tuple[pd.DataFrame, dict[str, str], list[Issue]]:
    cols = [c for c in gdf.columns if c not in (gdf.geometry.name, "_file", "_row")]
    columns, issues = map_columns(cols, known, mapping or {}, label)
    frame = pd.DataFrame({"_file": gdf["_file"].to_numpy(), "_row": gdf["_row"].to_numpy()})
    for name in known:
        frame[name] = _text(gdf[columns[name]].reset_index(drop=True)) if name in columns else pd.NA
    return frame, columns, issues


def _located(
    conn: Connection,
    gdf: gpd.GeoDataFrame,
    frame: pd.DataFrame,
    community: str | None,
    label: str,
) -> list[Issue]:
    areas = _areas(conn, community)
    if community and areas.empty:
        return [Issue(label, None, None, f"no community with code {community}")]
    codes, issues = check_location(gdf, areas, label, gdf.attrs.get("source_crs", "?"))
    declared = frame["community_code"]
    given = declared.astype(object).where(declared.notna(), None).to_numpy()
    clash = np.array(
        [g is not None and c is not None and g != c for g, c in zip(given, codes, strict=True)],
        dtype=bool,
    )
    issues += [
        Issue(
            *_at(frame, i),
            "community_code",
            f"says {declared.iloc[i]} but lies in {codes[i]}",
        )
        for i in np.flatnonzero(clash)[:MAX_REPORTED]
    ]
    frame["community_code"] = codes
    return issues


def _existing(
    conn: Connection,
    frame: pd.DataFrame,
    table: str,
    label: str,
    column: str,
    *,
    id_column: str = "id",
) -> list[Issue]:
    ids = frame[id_column].dropna()
    if ids.empty:
        return []
    rows = conn.execute(
        text(f"SELECT id FROM {table} WHERE id = ANY(:ids)"), {"ids": [int(i) for i in ids]}
    ).scalars()
    known = set(rows)
    missing = frame[id_column].notna() & ~frame[id_column].isin(known)
    return [
        Issue(*_at(frame, i), column, f"no {table} with id {frame[id_column].iloc[i]}")
        for i in np.flatnonzero(missing.to_numpy())[:MAX_REPORTED]
    ]


def _write(
    conn: Connection, frame: pd.DataFrame, gdf: gpd.GeoDataFrame, table: str, fields: tuple
) -> Imported:
    wkb = shapely.to_wkb(gdf.geometry.to_numpy())
    records = frame.astype(object).where(frame.notna(), None)
    rows = [
        {**{f: rec[f] for f in fields}, "id": rec["id"], "wkb": bytes(w), "name": rec["name"] or ""}
        for rec, w in zip(records.to_dict("records"), wkb, strict=True)
    ]
    update = [r for r in rows if r["id"] is not None]
    insert = [r for r in rows if r["id"] is None]
    assigns = ", ".join(f"{f} = :{f}" for f in fields)
    if update:
        conn.execute(
            text(f"UPDATE {table} SET {assigns}, geom = ST_GeomFromWKB(:wkb, 4490) WHERE id = :id"),
            update,
        )
    if insert:
        conn.execute(
            text(
                f"INSERT INTO {table} ({', '.join(fields)}, geom) "
                f"VALUES ({', '.join(':' + f for f in fields)}, ST_GeomFromWKB(:wkb, 4490))"
            ),
            insert,
        )
    return Imported(f"{table}s", "", inserted=len(insert), updated=len(update))
