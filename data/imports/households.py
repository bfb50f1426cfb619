"""Import a community's household 一张表 (xlsx or CSV with Chinese headers).

A short pipeline: read the table (within the configured upload limits), map its columns,
check each row's values, place each row in a building and unit of the import's area (by
路名 + 门牌号 + 楼栋, or one 地址 column, and 单元), check the rooms are free, then add all
rows with one COPY on the caller's transaction and record the import in ``audit_log``
(households are personal data). A room that already has a household is reported, never
overwritten.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import cast

import pandas as pd
import psycopg
from sqlalchemy import Connection, text

from data.imports.columns import (
    HOUSEHOLD_COLUMNS,
    address_key,
    bad_id_numbers,
    control_characters,
    empty_cells,
    int_column,
    map_columns,
    required_missing,
    text_values,
)
from data.imports.limits import InputLimits
from data.imports.location import area_communities
from data.imports.reading import read_table
from data.imports.report import Imported, ImportRejected, Issue, Progress, issues_at

PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
REQUIRED = ("head_name", "floor", "room", "members")
ROOM_KEY = ["building_id", "unit_id", "floor", "room"]


def import_households(
    conn: Connection,
    path: Path,
    *,
    actor: str,
    community: str | None = None,
    mapping: dict[str, str] | None = None,
    sheet: str | int = 0,
    label: str | None = None,
    progress: Progress | None = None,
    limits: InputLimits | None = None,
) -> Imported:
    """Check every row of the 一张表, then add all households in one COPY, or none.

    ``community`` (a community, street office or district code; None: anywhere) confines the
    buildings rows may be matched to; ``limits`` are the configured upload limits.
    """
    label = label or path.name
    step = progress or (lambda *args: None)
    raw = read_table(path, label, sheet, limits)
    step("正在读取", len(raw), len(raw))
    table, col = _columns(raw, mapping, label)
    out, issues = _values(table, col)
    step("正在检查", len(raw) // 3, len(raw))
    scope = sorted(area_communities(conn, community, label)["code"])
    issues += _place(conn, table, out, col, scope)
    step("正在匹配地址", 2 * len(raw) // 3, len(raw))
    issues += _rooms(conn, table, out, col, scope)
    if issues:
        raise ImportRejected(sorted(issues, key=lambda issue: issue.row or 0))
    _copy(conn, out)
    _audit(conn, actor, community, len(out), label)
    step("正在写入", len(raw), len(raw))
    return Imported("households", label, inserted=len(out))


def _columns(
    raw: pd.DataFrame, mapping: dict[str, str] | None, label: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table with one text column per known field, and {field: the user's header}."""
    headers = [c for c in raw.columns if c not in ("_file", "_row")]
    columns, issues = map_columns(headers, HOUSEHOLD_COLUMNS, mapping or {}, label)
    if "address" not in columns and not {"road", "door_number"} <= columns.keys():
        issues.append(
            Issue(label, None, "地址", "missing_column", "缺少地址：需要地址列，或路名和门牌号列")
        )
    issues += required_missing(label, columns, HOUSEHOLD_COLUMNS, REQUIRED)
    if issues:
        raise ImportRejected(issues)
    table = raw[["_file", "_row"]].copy()
    for name in HOUSEHOLD_COLUMNS:
        table[name] = (
            text_values(raw[columns[name]])
            if name in columns
            else pd.Series(pd.NA, index=raw.index, dtype="string")
        )
    table["full_address"] = table["address"].fillna(
        table["road"].fillna("") + table["door_number"].fillna("") + table["building"].fillna("")
    )
    return table, {
        name: columns.get(name, HOUSEHOLD_COLUMNS[name][1]) for name in HOUSEHOLD_COLUMNS
    }


def _values(table: pd.DataFrame, col: dict[str, str]) -> tuple[pd.DataFrame, list[Issue]]:
    """The household fields as they will be stored, and the cells that are not right."""
    mapped = {name: col[name] for name in HOUSEHOLD_COLUMNS if table[name].notna().any()}
    issues = empty_cells(table, REQUIRED, col) + control_characters(table, mapped)
    out = pd.DataFrame({"room": table["room"], "head_name": table["head_name"]})
    for name in ("members", "floor", "unit"):
        out[name], found = int_column(table, name, col[name])
        issues += found
    out["head_phone"] = table["head_phone"].str.replace(r"\s", "", regex=True)
    issues += issues_at(
        table,
        out["head_phone"].notna() & ~out["head_phone"].fillna("").str.match(PHONE),
        col["head_phone"],
        "bad_phone",
        lambda i: f"不是电话号码：{out['head_phone'].iloc[i]}",
    )
    out["id_number"] = table["id_number"].str.upper()
    issues += issues_at(
        table,
        bad_id_numbers(out["id_number"]),
        col["id_number"],
        "bad_id_number",
        "不是有效的 18 位公民身份号码（长度、地区码、出生日期或校验位有误）",
    )
    return out, issues


def _place(
    conn: Connection, table: pd.DataFrame, out: pd.DataFrame, col: dict[str, str], scope: list
) -> list[Issue]:
    """Match each row to a building of ``scope`` by address and to its unit entrance (into
    ``out``); a row that matches none, or names a floor above the building's, is an issue."""
    buildings = _buildings(conn, scope)
    out["building_id"] = _match_addresses(table, buildings)
    where = col["address"] if table["address"].notna().any() else col["door_number"]
    issues = issues_at(
        table,
        out["building_id"].isna(),
        where,
        "no_building",
        lambda i: f"找不到地址为 {table['full_address'].iloc[i]!r} 的楼栋",
    )
    floors = out["building_id"].map(buildings.set_index("building_id")["floors"])
    issues += issues_at(
        table,
        (out["floor"] > floors).fillna(False),
        col["floor"],
        "floor_above_building",
        lambda i: f"第 {out['floor'].iloc[i]} 层，但该楼只有 {floors.iloc[i]} 层",
    )
    units = pd.DataFrame(
        conn.execute(
            text(
                "SELECT u.building_id, u.number, u.id FROM unit_entrance u "
                "JOIN building b ON b.id = u.building_id WHERE b.community_code = ANY(:scope)"
            ),
            {"scope": scope},
        ).all(),
        columns=["building_id", "unit", "unit_id"],
    ).astype({"building_id": "Int64", "unit": "Int64", "unit_id": "Int64"})
    merged = out[["building_id", "unit"]].merge(units, how="left", on=["building_id", "unit"])
    out["unit_id"] = merged["unit_id"].set_axis(out.index)
    issues += issues_at(
        table,
        out["unit"].notna() & out["building_id"].notna() & out["unit_id"].isna(),
        col["unit"],
        "no_unit",
        lambda i: f"楼栋 {table['full_address'].iloc[i]} 没有 {out['unit'].iloc[i]} 单元",
    )
    return issues


def _buildings(conn: Connection, scope: list) -> pd.DataFrame:
    rows = conn.execute(
        text(
            "SELECT id, road, door_number, name, floors FROM building "
            "WHERE community_code = ANY(:scope)"
        ),
        {"scope": scope},
    ).all()
    frame = pd.DataFrame(rows, columns=["building_id", "road", "door_number", "name", "floors"])
    return frame.astype({"road": "string", "door_number": "string", "name": "string"})


def _match_addresses(table: pd.DataFrame, buildings: pd.DataFrame) -> pd.Series:
    """Building id for each row, by full address (road + door + building) or road + door
    where that names one building only."""
    full = pd.Series(
        buildings["building_id"].to_numpy(),
        index=address_key(buildings["road"], buildings["door_number"], buildings["name"]),
    )
    full = full[~full.index.duplicated(keep=False)]
    short_keys = address_key(buildings["road"], buildings["door_number"])
    unique_short = short_keys[~short_keys.duplicated(keep=False)]
    short = pd.Series(buildings["building_id"].to_numpy()[unique_short.index], index=unique_short)
    if table["address"].notna().any():
        keys = address_key(table["address"])
        fallback = keys
    else:
        keys = address_key(table["road"], table["door_number"], table["building"])
        fallback = address_key(table["road"], table["door_number"])
    return keys.map(full).fillna(fallback.map(short)).astype("Int64")


def _rooms(
    conn: Connection, table: pd.DataFrame, out: pd.DataFrame, col: dict[str, str], scope: list
) -> list[Issue]:
    """A room may appear once in the table and must not have a registered household."""
    placed = out["building_id"].notna().to_numpy()
    issues = issues_at(
        table,
        out.duplicated(ROOM_KEY, keep="first").to_numpy() & placed,
        col["room"],
        "duplicate_room",
        lambda i: f"同一房间出现两次（{table['full_address'].iloc[i]} {table['room'].iloc[i]} 室）",
    )
    existing = pd.DataFrame(
        conn.execute(
            text(
                "SELECT h.building_id, h.unit_id, h.floor, h.room FROM household h "
                "JOIN building b ON b.id = h.building_id WHERE b.community_code = ANY(:scope)"
            ),
            {"scope": scope},
        ).all(),
        columns=ROOM_KEY,
    ).astype({"building_id": "Int64", "unit_id": "Int64", "floor": "Int64", "room": "string"})
    taken = out[ROOM_KEY].merge(existing.assign(_taken=True), how="left", on=ROOM_KEY)
    issues += issues_at(
        table,
        taken["_taken"].fillna(False).to_numpy(dtype=bool),
        col["room"],
        "room_taken",
        lambda i: f"{table['full_address'].iloc[i]} {table['room'].iloc[i]} 室已登记有住户",
    )
    return issues


def _copy(conn: Connection, out: pd.DataFrame) -> None:
    """All rows in one COPY on the caller's transaction."""
    fields = ["building_id", "unit_id", "floor", "room", "head_name", "head_phone"]
    fields += ["id_number", "members"]
    buf = io.StringIO()
    out[fields].to_csv(buf, index=False, header=False, na_rep="\\N")
    # the pooled connection of a live SQLAlchemy Connection is psycopg's, never None
    driver = cast(psycopg.Connection, conn.connection.driver_connection)
    with (
        driver.cursor() as cur,
        cur.copy(
            f"COPY household ({', '.join(fields)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy,
    ):
        copy.write(buf.getvalue())


def _audit(conn: Connection, actor: str, community: str | None, rows: int, label: str) -> None:
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, object_type, object_id, reason, detail) "
            "VALUES (:actor, 'import', 'households', :community, NULL, CAST(:detail AS jsonb))"
        ),
        {
            "actor": actor,
            "community": community,
            "detail": json.dumps({"rows": rows, "file": label}, ensure_ascii=False),
        },
    )
