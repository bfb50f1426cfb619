"""Import and export speed against their limits, in one run.

* 170,000 households imported from a 一张表 (xlsx and CSV, Chinese headers, matched to
  buildings by address) beside psql's ``\\copy`` of the same rows straight into the table;
* the whole district (streets, communities, published grids, compounds, buildings) exported to
  one GeoPackage beside ``ogr2ogr`` reading the same queries from PostGIS.

Runs in its own database ``<db>_bench_io`` holding a synthetic district of the sample's size
(7 streets, 43 communities, 4,300 buildings, 170,000 households), so it needs nothing loaded.
Targets: import ≤ 30 s and ≤ 2× COPY; export ≤ 1.5× ogr2ogr.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.db import create_database, drop_database, make_engine, resolve_url
from data.exchange.export import export
from data.exchange.layers import LAYERS
from data.household_import import import_households
from data.settings import Settings, libpq_url
from data.store import migrate

HOUSEHOLDS = 170_000
COMMUNITIES = 43
BUILDINGS_PER_COMMUNITY = 100
COPY_COLUMNS = "building_id, unit_id, floor, room, head_name, head_phone, id_number, members"

DISTRICT_SQL = f"""
INSERT INTO district(code, name, geom)
  VALUES ('520602', '碧江区', ST_Multi(ST_MakeEnvelope(109.10, 27.60, 109.33, 27.80, 4490)));
INSERT INTO street_office(code, district_code, name, geom)
  SELECT '520602' || lpad(s::text, 3, '0'), '520602', '街道' || s,
         ST_Multi(ST_MakeEnvelope(109.10 + (s - 1) * 0.03, 27.60, 109.13 + (s - 1) * 0.03, 27.80,
                                  4490))
  FROM generate_series(1, 7) s;
INSERT INTO community(code, street_code, name, geom)
  SELECT '520602' || lpad(s::text, 3, '0') || lpad(c::text, 3, '0'),
         '520602' || lpad(s::text, 3, '0'), '社区' || s || '-' || c,
         ST_Multi(ST_MakeEnvelope(109.10 + (s - 1) * 0.03, 27.60 + (c - 1) * 0.025,
                                  109.13 + (s - 1) * 0.03, 27.625 + (c - 1) * 0.025, 4490))
  FROM generate_series(1, 7) s, generate_series(1, 7) c WHERE (s - 1) * 7 + c <= {COMMUNITIES};
INSERT INTO compound(community_code, name, geom)
  SELECT code, name || '小区', ST_Buffer(ST_PointOnSurface(geom), 0.004, 8) FROM community;
INSERT INTO building(community_code, compound_id, name, road, door_number, kind, floors, geom)
  SELECT c.code, k.id, b || '栋', c.name || '路', (mod(b, 10) + 1) || '号', 'midrise', 18,
         ST_Buffer(ST_Translate(ST_PointOnSurface(c.geom), mod(b, 10) * 0.0012 - 0.006,
                                (b / 10) * 0.0012 - 0.006), 0.0003, 4)
  FROM community c JOIN compound k ON k.community_code = c.code,
       generate_series(1, {BUILDINGS_PER_COMMUNITY}) b;
INSERT INTO unit_entrance(building_id, number, dwellings)
  SELECT id, u, 20 FROM building, generate_series(1, 2) u;
INSERT INTO grid_plan(community_code, version, status, created_by, published_at)
  SELECT code, 1, 'published', 'bench', now() FROM community;
INSERT INTO grid(plan_id, code, number, name, geom)
  SELECT p.id, p.community_code || lpad(g::text, 3, '0'), g, '网格' || g,
         ST_Multi(ST_Intersection(c.geom, ST_MakeEnvelope(
           ST_XMin(c.geom) + (g - 1) * 0.01, 27.5, ST_XMin(c.geom) + g * 0.01, 27.9, 4490)))
  FROM grid_plan p JOIN community c ON c.code = p.community_code, generate_series(1, 3) g;
"""


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def build(url: str, workdir: Path) -> tuple[Path, Path, Path]:
    """The bench database, and the same 170k households as 一张表 xlsx/CSV and as COPY CSV."""
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(DISTRICT_SQL)
        rows = conn.exec_driver_sql(
            "SELECT b.id, b.road, b.door_number, b.name, u.id, u.number FROM building b "
            "JOIN unit_entrance u ON u.building_id = b.id ORDER BY b.id, u.number"
        ).fetchall()
    engine.dispose()
    units = pd.DataFrame(rows, columns=["bid", "road", "door", "bname", "uid", "unit"])
    per_unit = -(-HOUSEHOLDS // len(units))
    rep = units.loc[units.index.repeat(per_unit)].head(HOUSEHOLDS).reset_index(drop=True)
    k = rep.groupby(["bid", "unit"]).cumcount().to_numpy()
    floor, room = k // 2 + 1, (k // 2 + 1) * 100 + k % 2 + 1
    rng = np.random.default_rng(0)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    names = surnames[rng.integers(0, 20, HOUSEHOLDS)] + "某" + (k % 97).astype(str)
    phones = "139" + pd.Series(rng.integers(0, 10**8, HOUSEHOLDS)).astype(str).str.zfill(8)
    members = rng.integers(1, 6, HOUSEHOLDS)
    table = pd.DataFrame(
        {
            "户主姓名": names,
            "联系电话": phones,
            "路名": rep["road"],
            "门牌号": rep["door"],
            "楼栋": rep["bname"],
            "单元": rep["unit"],
            "楼层": floor,
            "房号": room.astype(str),
            "人数": members,
        }
    )
    csv_path, xlsx_path, copy_path = (
        workdir / "一张表.csv",
        workdir / "一张表.xlsx",
        workdir / "copy.csv",
    )
    table.to_csv(csv_path, index=False)
    table.to_excel(xlsx_path, index=False)
    pd.DataFrame(
        {
            "b": rep["bid"],
            "u": rep["uid"],
            "f": floor,
            "r": room.astype(str),
            "n": names,
            "p": phones,
            "i": "",
            "m": members,
        }
    ).to_csv(copy_path, index=False, header=False)
    return csv_path, xlsx_path, copy_path


def psql_copy(url: str, copy_path: Path) -> float:
    """psql's \\copy of the rows into household, in a transaction rolled back afterwards."""
    cmd = [
        "psql",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        libpq_url(url),
        "-c",
        "BEGIN",
        "-c",
        f"\\copy household ({COPY_COLUMNS}) FROM '{copy_path}' WITH (FORMAT csv, NULL '')",
        "-c",
        "ROLLBACK",
    ]
    return timed(lambda: subprocess.run(cmd, check=True))


def our_import(url: str, path: Path) -> float:
    engine = make_engine(url)

    def run() -> None:
        with engine.connect() as conn:
            tx = conn.begin()
            result = import_households(conn, path, actor="bench")
            assert result.inserted == HOUSEHOLDS
            tx.rollback()  # the same rows again for the next run

    seconds = timed(run)
    engine.dispose()
    return seconds


EXPORT_LAYERS = ["streets", "communities", "grids", "compounds", "buildings"]


def ogr2ogr_export(url: str, out: Path) -> float:
    u = make_url(url)
    pg = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username}"

    def run() -> None:
        for i, name in enumerate(EXPORT_LAYERS):
            layer = LAYERS[name]
            cols = ", ".join(f.name for f in layer.fields)
            select = layer.select.replace(":prefix", "''")
            sql = f"SELECT {cols}, geom FROM ({select}) q"
            args = ["ogr2ogr", "-f", "GPKG", str(out), pg, "-sql", sql, "-nln", name]
            if i:
                args[1:1] = ["-update"]
            subprocess.run(args, check=True)

    return timed(run)


def our_export(url: str, out_dir: Path) -> float:
    engine = make_engine(url)
    seconds = timed(lambda: export(engine, EXPORT_LAYERS, "gpkg", "4490", out_dir, actor="bench"))
    engine.dispose()
    return seconds


def main() -> None:
    settings = Settings()
    base = make_url(resolve_url(settings))
    name = f"{base.database}_bench_io"
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    url = base.set(database=name).render_as_string(hide_password=False)
    drop_database(admin, name)
    create_database(admin, name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            t0 = time.perf_counter()
            csv_path, xlsx_path, copy_path = build(url, work)
            print(
                f"bench/io.py: synthetic district with {HOUSEHOLDS:,} households built in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            copy_s = min(psql_copy(url, copy_path) for _ in range(2))
            csv_s = min(our_import(url, csv_path) for _ in range(2))
            xlsx_s = our_import(url, xlsx_path)
            print(f"psql \\copy            {copy_s:6.2f} s")
            for label, secs in (("import 一张表 CSV", csv_s), ("import 一张表 xlsx", xlsx_s)):
                verdict = "ok" if secs <= 30 and secs <= 2 * copy_s else "OVER TARGET"
                print(
                    f"{label:<20} {secs:6.2f} s  {secs / copy_s:4.1f}× COPY   "
                    f"(target ≤ 30 s and ≤ 2×) {verdict}"
                )
            ogr_s = min(ogr2ogr_export(url, work / f"ogr{i}.gpkg") for i in range(2))
            exp_s = min(our_export(url, work / f"ours{i}") for i in range(2))
            verdict = "ok" if exp_s <= 1.5 * ogr_s else "OVER TARGET"
            print(f"ogr2ogr → GPKG        {ogr_s:6.2f} s")
            print(
                f"export → GPKG         {exp_s:6.2f} s  {exp_s / ogr_s:4.2f}× ogr2ogr "
                f"(target ≤ 1.5×) {verdict}"
            )
    finally:
        drop_database(admin, name)


if __name__ == "__main__":
    main()
