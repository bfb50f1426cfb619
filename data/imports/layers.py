"""Import building and compound layers: every row checked, then all written or none.

``community`` confines an import (a community, street office or district code; None means
anywhere, for operators): every feature must lie in it, and a row may only update a building
or compound that is in it before and stays in the same community after. A row names the
object it updates by ``id``; without one it is matched by address (buildings: 路名 + 门牌号 +
楼栋 in its community) or name (compounds), so importing the same file twice adds nothing
twice. A new building joins the grid it lies in, in each of its community's live plans
(``data.plans.membership``). The writes run on the caller's connection and transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from data.imports.columns import (
    BUILDING_COLUMNS,
    COMPOUND_COLUMNS,
    KINDS,
    address_key,
    control_characters,
    empty_cells,
    int_column,
    map_columns,
    norm_name,
    required_missing,
    text_values,
)
from data.imports.geometry import checked_geometries
from data.imports.limits import InputLimits
from data.imports.location import area_communities, locate
from data.imports.reading import read_vector
from data.imports.report import Imported, ImportRejected, Issue, Progress, issues_at
from data.plans.membership import place_new_buildings, placement_note


@dataclass(frozen=True)
class LayerKind:
    """What differs between the building and the compound import."""

    table: str
    kind: str  # as Imported names it
    noun: str  # as messages name one
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    geometries: frozenset[str]
    fields: tuple[str, ...]  # written, besides id and geometry
    match: tuple[str, ...]  # the natural key within a community, for rows without an id


BUILDINGS = LayerKind(
    "building",
    "buildings",
    "楼栋",
    BUILDING_COLUMNS,
    ("road", "door_number", "floors"),
    frozenset({"polygon", "point"}),
    ("community_code", "compound_id", "name", "road", "door_number", "kind", "floors"),
    ("road", "door_number", "name"),
)
COMPOUNDS = LayerKind(
    "compound",
    "compounds",
    "小区",
    COMPOUND_COLUMNS,
    ("name",),
    frozenset({"polygon"}),
    ("community_code", "name"),
    ("name",),
)


def import_buildings(conn: Connection, path: Path, **options) -> Imported:
    """Add or update buildings (楼栋) from a layer file; see the module docstring. Options:
    ``community``, ``declared_crs``, ``mapping``, ``label``, ``progress``, ``limits``."""
    return import_layer(conn, path, BUILDINGS, **options)


def import_compounds(conn: Connection, path: Path, **options) -> Imported:
    """Add or update compounds (小区) from a polygon layer; options as for buildings."""
    return import_layer(conn, path, COMPOUNDS, **options)


def import_layer(
    conn: Connection,
    path: Path,
    spec: LayerKind,
    *,
    community: str | None = None,
    declared_crs: str | None = None,
    mapping: dict[str, str] | None = None,
    label: str | None = None,
    progress: Progress | None = None,
    limits: InputLimits | None = None,
) -> Imported:
    """Read, check (columns and geometry, values, place and scope), then write, or raise
    :class:`ImportRejected` with every problem and write nothing."""
    label = label or path.name
    gdf = read_vector(path, label, declared_crs, limits)
    frame, columns, issues = _prepare(gdf, spec, mapping, label)
    gdf, geometry_issues, notes = checked_geometries(gdf, set(spec.geometries))
    _stop_if(issues + geometry_issues)
    if progress:
        progress(f"正在检查{spec.noun}", 0, len(frame))
    issues = _values(frame, gdf, spec, columns)
    areas = area_communities(conn, community, label)
    issues += _located(frame, gdf, areas, columns)
    if spec is BUILDINGS:
        issues += _compound_links(conn, frame, columns.get("compound_id", "compound_id"))
    issues += _scoped_ids(conn, frame, spec, set(areas["code"]), columns.get("id", "id"))
    _stop_if(issues)
    matched = int(frame["_matched"].sum())
    if matched:
        notes.append(f"{matched} 个{spec.noun}按{_key_words(spec)}匹配到已有记录，已更新")
    result = _write(conn, frame, gdf, spec)
    if spec is BUILDINGS:
        placed = place_new_buildings(conn, set(frame["community_code"]))
        if len(placed):
            notes.append(placement_note(placed))
    result.file, result.crs, result.notes = label, gdf.attrs.get("source_crs", ""), notes
    if progress:
        progress(f"正在检查{spec.noun}", len(frame), len(frame))
    return result


def _stop_if(issues: list[Issue]) -> None:
    if issues:
        raise ImportRejected(issues)


def _key_words(spec: LayerKind) -> str:
    return "地址" if spec is BUILDINGS else "名称"


def _prepare(
    gdf: gpd.GeoDataFrame, spec: LayerKind, mapping: dict[str, str] | None, label: str
) -> tuple[pd.DataFrame, dict[str, str], list[Issue]]:
    """The known fields as text (absent ones empty), the {field: column} map, and the
    problems with the columns themselves."""
    cols = [c for c in gdf.columns if c not in (gdf.geometry.name, "_file", "_row")]
    columns, issues = map_columns(cols, spec.columns, mapping or {}, label)
    issues += required_missing(label, columns, spec.columns, spec.required)
    frame = pd.DataFrame({"_file": gdf["_file"].to_numpy(), "_row": gdf["_row"].to_numpy()})
    for name in spec.columns:
        frame[name] = (
            text_values(gdf[columns[name]].reset_index(drop=True)) if name in columns else pd.NA
        )
    return frame, columns, issues + control_characters(frame, columns)


def _values(
    frame: pd.DataFrame, gdf: gpd.GeoDataFrame, spec: LayerKind, columns: dict[str, str]
) -> list[Issue]:
    """Typed fields in range, required cells filled, kinds known, ids not repeated."""
    issues = empty_cells(frame, spec.required, columns)
    numbers = ("id", "floors", "compound_id") if spec is BUILDINGS else ("id",)
    for name in numbers:
        frame[name], found = int_column(frame, name, columns.get(name, name))
        issues += found
    if spec is BUILDINGS:
        kinds = frame["kind"].fillna("other").map(lambda k: KINDS.get(norm_name(k)))
        issues += issues_at(
            frame,
            kinds.isna(),
            columns.get("kind"),
            "unknown_kind",
            lambda i: f"未知的建筑类型 {frame['kind'].iloc[i]!r}（高层、多层、自建房、平房或其他）",
        )
        frame["kind"] = kinds
    else:
        several = shapely.get_num_geometries(gdf.geometry.to_numpy()) > 1
        issues += issues_at(
            frame, several, "geometry", "multipart", "一个小区只能是一个多边形，这里有多个部分"
        )
        gdf.geometry = shapely.get_geometry(gdf.geometry.to_numpy(), 0)
    ids = frame["id"]
    issues += issues_at(
        frame,
        ids.notna() & ids.duplicated(keep="first"),
        columns.get("id", "id"),
        "duplicate_id",
        lambda i: f"{spec.noun}编号 {ids.iloc[i]} 重复出现",
    )
    return issues


def _located(
    frame: pd.DataFrame, gdf: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, columns: dict[str, str]
) -> list[Issue]:
    """Each row's community from its geometry (into ``frame["community_code"]``); a
    community code given in the file must agree."""
    codes, issues = locate(gdf, areas, gdf.attrs.get("source_crs", "?"))
    given = frame["community_code"].astype(object).where(frame["community_code"].notna(), None)
    clash = np.array(
        [g is not None and c is not None and g != c for g, c in zip(given, codes, strict=True)],
        dtype=bool,
    )
    issues += issues_at(
        frame,
        clash,
        columns.get("community_code", "community_code"),
        "community_mismatch",
        lambda i: f"写的是社区 {given.iloc[i]}，但位于社区 {codes[i]}",
    )
    frame["community_code"] = codes
    return issues


def _compound_links(conn: Connection, frame: pd.DataFrame, column: str) -> list[Issue]:
    """A building may name a compound only of the community it lies in."""
    ids = frame["compound_id"]
    home = _communities_of(conn, "compound", ids)
    community = ids.map(home)
    issues = issues_at(
        frame,
        ids.notna() & community.isna(),
        column,
        "unknown_id",
        lambda i: f"没有编号为 {ids.iloc[i]} 的小区",
    )
    elsewhere = community.notna() & frame["community_code"].notna()
    elsewhere &= community != frame["community_code"]
    issues += issues_at(
        frame,
        elsewhere.fillna(False),
        column,
        "compound_elsewhere",
        lambda i: f"小区 {ids.iloc[i]} 不在该楼栋所在的社区",
    )
    return issues


def _communities_of(conn: Connection, table: str, ids: pd.Series) -> pd.Series:
    """{id: community code} of the rows of ``table`` named by ``ids``."""
    rows = conn.execute(
        text(f"SELECT id, community_code FROM {table} WHERE id = ANY(:ids)"),
        {"ids": [int(i) for i in ids.dropna()]},
    ).all()
    return pd.Series({r[0]: r[1] for r in rows}, dtype=object)


def _scoped_ids(
    conn: Connection, frame: pd.DataFrame, spec: LayerKind, scope: set[str], column: str
) -> list[Issue]:
    """Give every row the id it updates (its own, or the one its natural key matches), and
    refuse ids that do not exist, lie outside ``scope`` or would change community."""
    ids = frame["id"]
    was = ids.map(_communities_of(conn, spec.table, ids))
    now = frame["community_code"]
    issues = issues_at(
        frame,
        ids.notna() & was.isna(),
        column,
        "unknown_id",
        lambda i: f"没有编号为 {ids.iloc[i]} 的{spec.noun}",
    )
    issues += issues_at(
        frame,
        was.notna() & ~was.isin(scope),
        column,
        "out_of_scope",
        lambda i: f"{spec.noun} {ids.iloc[i]} 不在本次导入的范围内，不能修改",
    )
    moved = (was.notna() & was.isin(scope) & now.notna() & (was != now)).fillna(False)
    issues += issues_at(
        frame,
        moved,
        "geometry",
        "moved_community",
        lambda i: (
            f"{spec.noun} {ids.iloc[i]} 属于社区 {was.iloc[i]}，新位置却在社区 "
            f"{now.iloc[i]}；不能跨社区移动"
        ),
    )
    matched, found = _natural_matches(conn, frame, spec, scope)
    frame["_matched"] = ids.isna() & matched.notna()
    frame["id"] = ids.fillna(matched)
    final = frame["id"]
    repeated = final.notna() & final.duplicated(keep="first") & frame["_matched"]
    issues += found + issues_at(
        frame,
        repeated,
        column,
        "duplicate_id",
        lambda i: f"与文件中另一行是同一个{spec.noun}（编号 {final.iloc[i]}）",
    )
    return issues


def _natural_matches(
    conn: Connection, frame: pd.DataFrame, spec: LayerKind, scope: set[str]
) -> tuple[pd.Series, list[Issue]]:
    """The existing id each row's natural key (community + address or name) names, where
    exactly one object has it; an issue where several do."""
    fields = ", ".join(spec.match)
    existing = pd.DataFrame(
        conn.execute(
            text(
                f"SELECT id, community_code, {fields} FROM {spec.table} "
                "WHERE community_code = ANY(:scope)"
            ),
            {"scope": sorted(scope)},
        ).all(),
        columns=["id", "community_code", *spec.match],
    ).astype({f: "string" for f in ("community_code", *spec.match)})
    known = address_key(*(existing[f] for f in ("community_code", *spec.match)))
    counts = known.value_counts()
    unique = pd.Series(existing["id"].to_numpy(), index=known)[lambda s: s.index.map(counts) == 1]
    keys = address_key(*(frame[f].astype("string") for f in ("community_code", *spec.match)))
    ambiguous = frame["id"].isna() & frame["community_code"].notna() & (keys.map(counts) > 1)
    issues = issues_at(
        frame,
        ambiguous.fillna(False),
        None,
        "ambiguous_match",
        lambda i: (
            f"与 {counts[keys.iloc[i]]} 个已有{spec.noun}的{_key_words(spec)}相同，"
            "请填写编号以指明更新哪一个"
        ),
    )
    return keys.map(unique).astype("Int64"), issues


def _write(conn: Connection, frame: pd.DataFrame, gdf: gpd.GeoDataFrame, spec) -> Imported:
    wkb = shapely.to_wkb(gdf.geometry.to_numpy())
    records = frame.astype(object).where(frame.notna(), None)
    rows = [
        {**{f: rec[f] for f in spec.fields}, "id": rec["id"], "wkb": bytes(w)}
        | {"name": rec["name"] or ""}
        for rec, w in zip(records.to_dict("records"), wkb, strict=True)
    ]
    update = [r for r in rows if r["id"] is not None]
    insert = [r for r in rows if r["id"] is None]
    assigns = ", ".join(f"{f} = :{f}" for f in spec.fields)
    if update:
        conn.execute(
            text(
                f"UPDATE {spec.table} SET {assigns}, geom = ST_GeomFromWKB(:wkb, 4490) "
                "WHERE id = :id AND community_code = :community_code"  # never across communities
            ),
            update,
        )
    if insert:
        conn.execute(
            text(
                f"INSERT INTO {spec.table} ({', '.join(spec.fields)}, geom) "
                f"VALUES ({', '.join(':' + f for f in spec.fields)}, ST_GeomFromWKB(:wkb, 4490))"
            ),
            insert,
        )
    return Imported(spec.kind, "", inserted=len(insert), updated=len(update))
