"""Imports: round trips with the exports, the 一张表, and bad input that imports nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.auth import StaffActor, staff_user
from api.cli import main
from data.exchange.export import export
from data.household_import import import_households
from data.importing import ImportRejected, import_buildings, import_compounds
from geo import offsets
from tests.platforms.conftest import COMMUNITY, count


def _geoms(conn, table: str) -> dict[int, shapely.Geometry]:
    rows = conn.execute(text(f"SELECT id, ST_AsBinary(geom) FROM {table} ORDER BY id"))
    return {r[0]: shapely.from_wkb(bytes(r[1])) for r in rows}


def _rejected(run, *args, **kwargs) -> list[str]:
    with pytest.raises(ImportRejected) as info:
        run(*args, **kwargs)
    return [issue.line() for issue in info.value.issues]


@pytest.mark.parametrize(
    ("fmt", "crs", "encoding"),
    [
        ("shp", "gk", "GBK"),
        ("gpkg", "gcj02", "UTF-8"),
        ("geojson", "4326", "UTF-8"),
    ],
)
def test_buildings_round_trip(platforms_engine, conn, tmp_path, fmt, crs, encoding):
    before = _geoms(conn, "building")
    names = conn.execute(
        text("SELECT id, name, road, door_number, floors FROM building ORDER BY id")
    ).all()
    out = export(platforms_engine, ["buildings"], fmt, crs, tmp_path, encoding=encoding, actor="t")
    result = import_buildings(conn, out.path)
    assert (result.inserted, result.updated) == (0, 3)
    after = _geoms(conn, "building")
    assert after.keys() == before.keys()
    for bid, geom in before.items():  # 1e-8° is about a millimetre
        assert shapely.equals_exact(
            shapely.normalize(after[bid]), shapely.normalize(geom), tolerance=1e-8
        ), bid
    assert (
        conn.execute(
            text("SELECT id, name, road, door_number, floors FROM building ORDER BY id")
        ).all()
        == names
    )


def test_compounds_from_declared_gcj02_geojson_are_unshifted(conn, tmp_path):
    src = shapely.box(109.1851, 27.7051, 109.1899, 27.7099)
    shifted = offsets.transform_geometry(src, "wgs84", "gcj02")
    path = tmp_path / "xiaoqu.geojson"
    gpd.GeoDataFrame({"小区名称": ["新桃园小区"]}, geometry=[shifted], crs=4326).to_file(path)
    result = import_compounds(conn, path, community=COMMUNITY, declared_crs="gcj02")
    assert result.inserted == 1
    got = _geoms(conn, "compound")
    new = got[max(got)]
    assert shapely.equals_exact(shapely.normalize(new), shapely.normalize(src), tolerance=1e-8)


def _buildings_gdf(n: int = 2, crs=4490, dx: float = 0.0) -> gpd.GeoDataFrame:
    geoms = [
        shapely.box(109.181 + i * 0.001 + dx, 27.701, 109.1815 + i * 0.001 + dx, 27.7015)
        for i in range(n)
    ]
    return gpd.GeoDataFrame(
        {
            "路名": ["新路"] * n,
            "门牌号": [f"{i + 1}号" for i in range(n)],
            "层数": ["5"] * n,
            "楼栋": [f"{i + 1}栋" for i in range(n)],
        },
        geometry=geoms,
        crs=crs,
    )


def test_gbk_shapefile_without_cpg_is_read_as_gbk(conn, tmp_path):
    path = tmp_path / "louzhuang.shp"
    pyogrio.write_dataframe(_buildings_gdf(), path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    assert import_buildings(conn, path, community=COMMUNITY).inserted == 2
    names = conn.execute(text("SELECT road FROM building WHERE id > 100")).scalars().all()
    assert names == ["新路", "新路"]


def _zip(tmp_path: Path, gdf, skip: str | None = None, encoding="UTF-8") -> Path:
    shp = tmp_path / "b.shp"
    pyogrio.write_dataframe(gdf, shp, encoding=encoding)
    out = tmp_path / "b.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for p in tmp_path.glob("b.*"):
            if p.suffix not in (".zip", skip):
                zf.write(p, p.name)
    return out


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("corrupt", "corrupt"),
        ("no_shx", "no .shx"),
        ("no_dbf", "no .dbf"),
        ("encoding", "unknown text encoding"),
        ("cpg", "unknown encoding 'KLINGON'"),
        ("mixed", "mixed geometry types"),
        ("gcj", "look like GCJ-02"),
        ("swapped", "swapped"),
        ("duplicate", "duplicate building id 1"),
        ("no_prj", "no coordinate system"),
    ],
)
def test_bad_layers_are_reported_and_nothing_is_imported(conn, tmp_path, case, expected):
    gdf = _buildings_gdf()
    path = tmp_path / "b.geojson"
    if case == "corrupt":
        good = _zip(tmp_path, gdf)
        path = tmp_path / "bad.zip"
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case in ("no_shx", "no_dbf"):
        path = _zip(tmp_path, gdf, skip="." + case[3:])
    elif case in ("encoding", "cpg"):
        path = tmp_path / "b.shp"
        pyogrio.write_dataframe(gdf, path)
        if case == "encoding":  # bytes that are neither UTF-8 nor GBK, and no .cpg
            path.with_suffix(".cpg").unlink()
            dbf = path.with_suffix(".dbf")
            dbf.write_bytes(dbf.read_bytes().replace("新路".encode(), b"\xff\xfe\xff\xfe\xff\xfe"))
        else:
            path.with_suffix(".cpg").write_text("KLINGON")
    elif case == "mixed":
        gdf.loc[1, "geometry"] = shapely.LineString([(109.1825, 27.7012), (109.183, 27.7012)])
        gdf.to_file(path)
    elif case == "gcj":
        gdf.geometry = offsets.transform_geometry(gdf.geometry.to_numpy(), "wgs84", "gcj02")
        gdf.to_file(path)
    elif case == "swapped":
        gdf.geometry = shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy[:, ::-1])
        gdf.to_file(path)
    elif case == "duplicate":
        gdf["楼栋编号"] = [1, 1]
        gdf.to_file(path)
    elif case == "no_prj":
        path = tmp_path / "b.shp"
        pyogrio.write_dataframe(gdf, path)
        path.with_suffix(".prj").unlink()
    before = count(conn, "building")
    lines = _rejected(import_buildings, conn, path, community=COMMUNITY)
    assert any(expected in line for line in lines), lines
    assert count(conn, "building") == before


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype=str)


ROWS = [
    {
        "户主姓名": "赵六",
        "联系电话": "13900000001",
        "路名": "桃园路",
        "门牌号": "1号",
        "楼栋": "1栋",
        "单元": "2",
        "楼层": "3",
        "房号": "302",
        "人数": "2",
        "身份证号": "11010519491231002X",
    },
    {
        "户主姓名": "孙七",
        "联系电话": "0856-5211111",
        "路名": "解放路",
        "门牌号": "12号",
        "楼栋": "",
        "单元": "",
        "楼层": "2",
        "房号": "2",
        "人数": "1",
        "身份证号": "",
    },
]


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_household_table_import_matches_addresses(conn, tmp_path, suffix):
    path = tmp_path / f"一张表.{suffix}"
    frame = _table(ROWS)
    if suffix == "xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="gbk")
    before = count(conn, "household")
    result = import_households(conn, path, actor="operator:t", community=COMMUNITY)
    assert result.inserted == 2 and count(conn, "household") == before + 2
    row = conn.execute(
        text(
            "SELECT h.building_id, u.number FROM household h LEFT JOIN unit_entrance u "
            "ON u.id = h.unit_id WHERE head_name = '赵六'"
        )
    ).one()
    assert tuple(row) == (1, 2)
    audit = conn.execute(
        text("SELECT actor FROM audit_log WHERE action = 'import' ORDER BY id DESC LIMIT 1")
    ).scalar()
    assert audit == "operator:t"


def test_bad_household_rows_are_all_reported_and_nothing_is_imported(conn, tmp_path):
    rows = [dict(r) for r in ROWS] + [
        {**ROWS[0], "门牌号": "99号", "房号": "1"},  # no such building
        {**ROWS[0], "房号": "303", "单元": "7"},  # no such unit
        {**ROWS[0], "房号": "304", "身份证号": "110105194912310021"},  # bad check digit
        {**ROWS[0], "房号": "305", "人数": "两"},
        {**ROWS[0], "房号": "306", "楼层": "9"},  # building has 6 floors
        {**ROWS[1], "房号": "1", "楼层": "1"},  # 王五 lives there already
        dict(ROWS[0]),  # the same room twice
    ]
    path = tmp_path / "bad.csv"
    _table(rows).to_csv(path, index=False)
    before = count(conn, "household")
    with pytest.raises(ImportRejected) as info:
        import_households(conn, path, actor="t", community=COMMUNITY)
    got = {(i.row, i.column) for i in info.value.issues}
    assert {
        (4, "门牌号"),
        (5, "单元"),
        (6, "身份证号"),
        (7, "人数"),
        (8, "楼层"),
        (9, "房号"),
        (10, "房号"),
    } <= got
    assert "no building at address '桃园路99号1栋'" in str([i.problem for i in info.value.issues])
    assert count(conn, "household") == before


def test_cli_import_refuses_in_one_line_with_exit_2(platforms_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", platforms_url)
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "buildings", str(bad), "--community", COMMUNITY])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt" in err[0] and "import-report.csv" in err[0]
    assert "corrupt" in (tmp_path / "import-report.csv").read_text(encoding="utf-8-sig")


def test_cli_export_says_the_crs(platforms_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", platforms_url)
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "export",
                "grids",
                "-f",
                "shp",
                "--crs",
                "gk",
                "--encoding",
                "GBK",
                "-o",
                str(tmp_path),
            ]
        )
    assert exit_info.value.code == 0
    err = capsys.readouterr().err
    assert "EPSG:4545" in err and "GBK" in err and (tmp_path / "grids_EPSG-4545.zip").exists()


@pytest.fixture
def api(platforms_url):
    app = create_app(database_url=platforms_url)
    with TestClient(app) as client:
        yield app, client


def test_api_refuses_household_data_and_staff_layers_without_a_login(api):
    _, client = api
    assert client.get("/api/v1/export", params={"layer": "households"}).status_code == 401
    files = {"file": ("一张表.csv", b"a,b\n1,2\n", "text/csv")}
    assert client.post("/api/v1/import/households", files=files).status_code == 401
    assert client.get("/api/v1/export", params={"layer": "buildings"}).status_code == 401
    r = client.get("/api/v1/export", params={"layer": "grids", "format": "fgb", "crs": "gk"})
    assert r.status_code == 200 and r.headers["content-crs"].endswith("/EPSG/0/4545>")
    assert "grids_EPSG-4545.fgb" in r.headers["content-disposition"]


def test_api_import_reports_problems_with_422_and_imports_nothing(api, platforms_engine, tmp_path):
    app, client = api
    app.dependency_overrides[staff_user] = lambda: StaffActor("account:planner")
    gdf = _buildings_gdf()
    gdf["楼栋编号"] = [1, 1]
    path = tmp_path / "dup.geojson"
    gdf.to_file(path)
    with platforms_engine.connect() as c:
        before = count(c, "building")
    r = client.post(
        "/api/v1/import/buildings",
        data={"community": COMMUNITY},
        files={"file": ("dup.geojson", path.read_bytes(), "application/geo+json")},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["issues"][0] == {
        "file": "dup.geojson",
        "row": 2,
        "column": "楼栋编号",
        "problem": "duplicate building id 1",
    }
    with platforms_engine.connect() as c:
        assert count(c, "building") == before
    assert np.all(np.asarray([i["row"] for i in body["issues"]]) >= 1)
