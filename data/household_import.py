"""Import a community's household 一张表 (xlsx or CSV with Chinese headers).

Each row is matched to a building by its address (路名 + 门牌号 + 楼栋, or one 地址 column) and to
a unit entrance by 单元; every row is checked before anything is written, then the rows go in with
one COPY on the caller's transaction, and the import is recorded in ``audit_log`` (households are
personal data). A room that already has a household is reported, never overwritten.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from data.importing import (
    HOUSEHOLD_COLUMNS,
    MAX_REPORTED,
    Imported,
    ImportRejected,
    InputLimits,
    Issue,
    Progress,
    _int_column,
    _key,
    _text,
    check_zip,
    map_columns,
)

PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = "10X98765432"


def read_table(path: Path, label: str, sheet: str | int = 0) -> pd.DataFrame:
    """All cells as text; a CSV may be UTF-8 (with or without BOM) or GBK."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".ods") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:  # a spreadsheet is a zip: refuse a zip bomb
                check_zip(zf, label, InputLimits())
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            return pd.read_excel(path, sheet_name=sheet, dtype=str, engine="calamine")
        if suffix == ".csv":
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
                except UnicodeDecodeError:
                    continue
            raise ImportRejected(
                [Issue(label, None, None, "unknown text encoding (neither UTF-8 nor GBK)")]
            )
    except ImportRejected:
        raise
    except Exception as exc:  # calamine/pandas reasons vary; all mean "unreadable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportRejected([Issue(label, None, None, f"cannot read: {reason}")]) from exc
    raise ImportRejected([Issue(label, None, None, "not a spreadsheet: use .xlsx or .csv")])


def _id_checksum_ok(ids: pd.Series) -> np.ndarray:
    digits = np.array([[int(c) for c in s[:17]] for s in ids], dtype=int).reshape(-1, 17)
    expected = np.array(list(ID_CHECK))[(digits @ ID_WEIGHTS) % 11]
    return expected == ids.str[17].to_numpy()


def _buildings(conn: Connection, community: str | None) -> pd.DataFrame:
    rows = conn.execute(
        text(
            "SELECT id, road, door_number, name, floors FROM building"
            + (" WHERE community_code = :c" if community else "")
        ),
        {"c": community},
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["building_id", "road", "door_number", "name", "floors"])
    for col in ("road", "door_number", "name"):
        frame[col] = frame[col].astype("string")
    return frame


def _match_addresses(table: pd.DataFrame, buildings: pd.DataFrame) -> pd.Series:
    """Building id for each row, by full address (road + door + building) or road + door
    where that names one building only."""
    full = pd.Series(
        buildings["building_id"].to_numpy(),
        index=_key(buildings["road"], buildings["door_number"], buildings["name"]),
    )
    full = full[~full.index.duplicated(keep=False)]
    short_keys = _key(buildings["road"], buildings["door_number"])
    unique_short = short_keys[~short_keys.duplicated(keep=False)]
    short = pd.Series(buildings["building_id"].to_numpy()[unique_short.index], index=unique_short)
    if "address" in table and table["address"].notna().any():
        keys = _key(table["address"])
    else:
        keys = _key(table["road"], table["door_number"], table["building"])
    matched = keys.map(full)
    if "address" not in table or table["address"].isna().all():
        fallback = _key(table["road"], table["door_number"]).map(short)
        matched = matched.fillna(fallback)
    else:
        matched = matched.fillna(keys.map(short))
    return matched.astype("Int64")


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
) -> Imported:
    """Check every row of the 一张表, then add all households in one COPY, or none."""
    label = label or path.name
    raw = read_table(path, label, sheet)
    step = (lambda s, d, t: progress(s, d, t)) if progress else (lambda *a: None)
    total = len(raw)
    step("reading", total, total)
    columns, issues = map_columns(
        [str(c) for c in raw.columns], HOUSEHOLD_COLUMNS, mapping or {}, label
    )
    has_address = "address" in columns or {"road", "door_number"} <= columns.keys()
    if not has_address:
        issues.append(Issue(label, None, "地址", "no address: need 地址, or 路名 and 门牌号"))
    for required in ("head_name", "floor", "room", "members"):
        if required not in columns:
            issues.append(
                Issue(label, None, HOUSEHOLD_COLUMNS[required][1], "required column missing")
            )
    if issues:
        raise ImportRejected(issues)
    table = pd.DataFrame({"_file": label, "_row": np.arange(2, total + 2)})
    for name in HOUSEHOLD_COLUMNS:
        table[name] = (
            _text(raw[columns[name]])
            if name in columns
            else pd.Series(pd.NA, index=table.index, dtype="string")
        )
    col = {name: columns.get(name, name) for name in HOUSEHOLD_COLUMNS}

    for name in ("head_name", "room"):
        for i in np.flatnonzero(table[name].isna().to_numpy())[:MAX_REPORTED]:
            issues.append(Issue(label, int(table["_row"].iloc[i]), col[name], "empty"))
    members = _int_column(table, "members", label, issues, col["members"])
    for i in np.flatnonzero(members.isna().to_numpy() & table["members"].isna().to_numpy())[
        :MAX_REPORTED
    ]:
        issues.append(Issue(label, int(table["_row"].iloc[i]), col["members"], "empty"))
    floor = _int_column(table, "floor", label, issues, col["floor"], low=-5)
    unit = _int_column(table, "unit", label, issues, col["unit"])
    phone = table["head_phone"].str.replace(r"[\s]", "", regex=True)
    bad_phone = phone.notna() & ~phone.fillna("").str.match(PHONE)
    for i in np.flatnonzero(bad_phone.to_numpy())[:MAX_REPORTED]:
        issues.append(
            Issue(
                label,
                int(table["_row"].iloc[i]),
                col["head_phone"],
                f"not a phone number: {phone.iloc[i]}",
            )
        )
    ids = table["id_number"].str.upper()
    shaped = ids.fillna("").str.match(ID_NUMBER)
    bad_id = ids.notna() & ~shaped
    well = ids[shaped]
    if len(well):
        bad_id |= pd.Series(~_id_checksum_ok(well), index=well.index).reindex(
            ids.index, fill_value=False
        )
    for i in np.flatnonzero(bad_id.to_numpy())[:MAX_REPORTED]:
        issues.append(
            Issue(
                label,
                int(table["_row"].iloc[i]),
                col["id_number"],
                "not a valid 18-digit ID number (length or check digit)",
            )
        )
    step("checking", total // 3, total)

    buildings = _buildings(conn, community)
    building_id = _match_addresses(table, buildings)
    unmatched = building_id.isna().to_numpy()
    address = table["address"].fillna(
        table["road"].fillna("") + table["door_number"].fillna("") + table["building"].fillna("")
    )
    for i in np.flatnonzero(unmatched)[:MAX_REPORTED]:
        issues.append(
            Issue(
                label,
                int(table["_row"].iloc[i]),
                col["address"] if "address" in columns else col["door_number"],
                f"no building at address {address.iloc[i]!r}",
            )
        )
    floors = building_id.map(buildings.set_index("building_id")["floors"])
    too_high = (floor > floors).fillna(False).to_numpy()
    for i in np.flatnonzero(too_high)[:MAX_REPORTED]:
        issues.append(
            Issue(
                label,
                int(table["_row"].iloc[i]),
                col["floor"],
                f"floor {floor.iloc[i]} but the building has {floors.iloc[i]}",
            )
        )

    units = pd.DataFrame(
        conn.execute(
            text(
                "SELECT u.building_id, u.number, u.id FROM unit_entrance u "
                "JOIN building b ON b.id = u.building_id"
                + (" WHERE b.community_code = :c" if community else "")
            ),
            {"c": community},
        ).fetchall(),
        columns=["building_id", "number", "unit_id"],
    )
    keyed = pd.DataFrame({"building_id": building_id, "number": unit})
    unit_id = keyed.merge(
        units.astype({"building_id": "Int64", "number": "Int64"}),
        how="left",
        on=["building_id", "number"],
    )["unit_id"].astype("Int64")
    no_unit = (unit.notna() & building_id.notna() & unit_id.isna()).to_numpy()
    for i in np.flatnonzero(no_unit)[:MAX_REPORTED]:
        issues.append(
            Issue(
                label,
                int(table["_row"].iloc[i]),
                col["unit"],
                f"building {address.iloc[i]} has no unit {unit.iloc[i]}",
            )
        )
    step("matching addresses", 2 * total // 3, total)

    out = pd.DataFrame(
        {
            "building_id": building_id,
            "unit_id": unit_id,
            "floor": floor,
            "room": table["room"],
            "head_name": table["head_name"],
            "head_phone": phone,
            "id_number": ids,
            "members": members,
        }
    )
    room_key = ["building_id", "unit_id", "floor", "room"]
    dup = out.duplicated(room_key, keep="first").to_numpy() & ~unmatched
    for i in np.flatnonzero(dup)[:MAX_REPORTED]:
        issues.append(
            Issue(
                label,
                int(table["_row"].iloc[i]),
                col["room"],
                f"the same room appears twice ({address.iloc[i]} room {table['room'].iloc[i]})",
            )
        )
    existing = pd.DataFrame(
        conn.execute(
            text(
                "SELECT h.building_id, h.unit_id, h.floor, h.room FROM household h "
                "JOIN building b ON b.id = h.building_id"
                + (" WHERE b.community_code = :c" if community else "")
            ),
            {"c": community},
        ).fetchall(),
        columns=room_key,
    ).astype({"building_id": "Int64", "unit_id": "Int64", "floor": "Int64", "room": "string"})
    if len(existing):
        taken = out[room_key].merge(existing.assign(_taken=True), how="left", on=room_key)
        for i in np.flatnonzero(taken["_taken"].fillna(False).to_numpy())[:MAX_REPORTED]:
            issues.append(
                Issue(
                    label,
                    int(table["_row"].iloc[i]),
                    col["room"],
                    f"{address.iloc[i]} room {table['room'].iloc[i]} "
                    "already has a registered household",
                )
            )
    if issues:
        issues.sort(key=lambda issue: issue.row or 0)
        raise ImportRejected(issues)

    buf = io.StringIO()
    out.to_csv(buf, index=False, header=False, na_rep="\\N")
    with (
        conn.connection.driver_connection.cursor() as cur,
        cur.copy(
            "COPY household (building_id, unit_id, floor, room, head_name, head_phone, id_number,"
            " members) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy,
    ):
        copy.write(buf.getvalue())
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, object_type, object_id, reason, detail) "
            "VALUES (:actor, 'import', 'households', :community, NULL, "
            "CAST(:detail AS jsonb))"
        ),
        {
            "actor": actor,
            "community": community,
            "detail": f'{{"rows": {total}, "file": {_json(label)}}}',
        },
    )
    step("writing", total, total)
    return Imported("households", label, inserted=total)


def _json(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
