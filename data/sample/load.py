"""Write a ``SampleDistrict`` into PostGIS in one transaction, fast.

Each table is streamed with ``COPY ... FROM STDIN (FORMAT csv)`` from a CSV rendering of its
frame; geometries travel as hex EWKB (SRID 4490), which PostGIS parses on input. Ids are
explicit, so every id sequence is moved past the largest id afterwards. Unquoted empty fields
are NULL (the sample has no empty strings).

A bulk load is faster without the indexes and foreign keys that each row would otherwise
update and check one by one: the loaded tables' secondary indexes and foreign keys are dropped
first and built again after the COPYs (one sorted build per index, one join per foreign key,
which check every row as before), then the tables are analysed. Primary keys and unique
constraints stay. All of it is one transaction, so a failed load leaves the schema and the
tables as they were.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from data.sample.district import SampleDistrict

STORAGE_SRID = 4490

#: Table → columns written, in foreign-key order. ``household_care`` is ``protected.``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "district": ("code", "name", "geom"),
    "street_office": ("code", "district_code", "name", "geom"),
    "community": (
        "code", "street_code", "name", "office_address", "office_phone", "band_min", "band_max",
        "geom",
    ),
    "compound": ("id", "community_code", "name", "geom"),
    "building": (
        "id", "community_code", "compound_id", "name", "road", "door_number", "kind", "floors",
        "geom", "created_at",
    ),
    "unit_entrance": ("id", "building_id", "number", "dwellings", "created_at"),
    "household": (
        "id", "building_id", "unit_id", "floor", "room", "head_name", "head_phone", "id_number",
        "members",
    ),
    "household_care": (
        "household_id", "elderly_alone", "low_income", "disabled", "left_behind_child", "notes",
    ),
    "road": ("id", "name", "level", "geom"),
    "river": ("id", "name", "geom"),
    "grid_plan": (
        "id", "community_code", "version", "status", "revision", "created_at", "created_by",
        "updated_by", "published_at", "note",
    ),
    "grid": ("id", "plan_id", "code", "number", "name", "description", "geom"),
    "grid_member": ("id", "plan_id", "grid_id", "building_id", "unit_id"),
    "staff": ("id", "community_code", "name", "role", "work_phone", "party_member", "organisation"),
    "grid_staff": ("grid_id", "staff_id", "role"),
    "liaison_household": ("household_id", "staff_id"),
}  # fmt: skip
SCHEMA = {"household_care": "protected"}
SERIAL_TABLES = (
    "compound", "building", "unit_entrance", "household", "road", "river", "grid_plan", "grid",
    "grid_member", "staff",
)  # fmt: skip

#: Foreign keys whose table is one of ``tables``: (table, name, definition).
_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = ANY(%(tables)s::regclass[])
ORDER BY c.oid
"""
#: Indexes of ``tables`` that no constraint owns or depends on: (name, definition).
_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(%(tables)s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY i.indexrelid
"""


def _target(table: str) -> sql.Composable:
    return sql.Identifier(SCHEMA[table], table) if table in SCHEMA else sql.Identifier(table)


def _csv(frame: pd.DataFrame, columns: tuple[str, ...]) -> bytes:
    """CSV of ``columns``; a GeoDataFrame's geometry as hex EWKB in SRID 4490."""
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        if isinstance(frame, gpd.GeoDataFrame) and col == frame.geometry.name:
            geoms = shapely.set_srid(frame.geometry.values.to_numpy(), STORAGE_SRID)
            out[col] = shapely.to_wkb(geoms, hex=True, include_srid=True)
        else:
            out[col] = frame[col]
    buf = io.StringIO()
    out.to_csv(buf, header=False, index=False)
    return buf.getvalue().encode("utf-8")


def _check_crs(district: SampleDistrict) -> None:
    for name, frame in district.tables().items():
        crs = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
        if crs is not None and crs.to_epsg() != STORAGE_SRID:
            raise ValueError(f"{name}: geometries must be EPSG:{STORAGE_SRID}, got {crs}")


def _drop_deferrable(cur: psycopg.Cursor) -> list[sql.SQL]:
    """Drop the loaded tables' foreign keys and secondary indexes; return the statements that
    make them again, indexes first (names and definitions from the catalog, so unchanged)."""
    params = {"tables": [f"{SCHEMA[t]}.{t}" if t in SCHEMA else t for t in COLUMNS]}
    keys = cur.execute(_FOREIGN_KEYS, params).fetchall()
    indexes = cur.execute(_INDEXES, params).fetchall()
    for table, name, _ in keys:
        cur.execute(sql.SQL(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    for name, _ in indexes:
        cur.execute(sql.SQL(f"DROP INDEX {name}"))
    return [sql.SQL(definition) for _, definition in indexes] + [
        sql.SQL(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for table, name, definition in keys
    ]


def load(conn: psycopg.Connection, district: SampleDistrict) -> dict[str, int]:
    """Write every table of ``district`` in one transaction; returns rows written per table.

    The tables are expected to be empty (a fresh database); a conflict aborts the whole load.
    When the connection has no transaction open, the load is committed on success.
    """
    _check_crs(district)
    counts: dict[str, int] = {}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        again = _drop_deferrable(cur)
        # The next tables' CSV is rendered in a thread while the server ingests this one.
        with ThreadPoolExecutor(1) as render:
            rendered = [
                render.submit(_csv, getattr(district, table), columns)
                for table, columns in COLUMNS.items()
            ]
            for (table, columns), csv in zip(COLUMNS.items(), rendered, strict=True):
                statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    _target(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with cur.copy(statement) as copy:
                    copy.write(csv.result())
                counts[table] = len(getattr(district, table))
        for definition in again:
            cur.execute(definition)
        for table in SERIAL_TABLES:
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                    "(SELECT coalesce(max(id), 0) + 1 FROM {i}), false)"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
        cur.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(_target, COLUMNS))))
    return counts
