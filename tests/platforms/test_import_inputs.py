"""Inputs the imports must refuse or read right (issue 13, items 4, 5 and 7; issue 14, items 1
and 7): values out of range, GBK field names, broken and mixed geometries, empty files and
layers, row numbers after blank lines, re-imports, the configured upload limits, ID numbers."""

from __future__ import annotations

import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.auth import StaffActor, personal_data_user, staff_user
from api.cli import main
from data.imports import (
    ImportRejected,
    import_buildings,
    import_households,
    read_table,
    read_vector,
)
from data.settings import Settings
from tests.platforms.conftest import COMMUNITY, count
from tests.platforms.test_import import ROWS

HOUSEHOLD = {**ROWS[0], "身份证号": ""}


def _buildings(n: int = 2, **columns) -> gpd.GeoDataFrame:
    geoms = [
        shapely.box(109.181 + i * 0.001, 27.701, 109.1815 + i * 0.001, 27.7015) for i in range(n)
    ]
    data = {"路名": ["新路"] * n, "门牌号": [f"{i + 1}号" for i in range(n)], "层数": ["5"] * n}
    return gpd.GeoDataFrame({**data, **columns}, geometry=geoms, crs=4490)


def _issues(run, *args, **kwargs) -> list:
    with pytest.raises(ImportRejected) as info:
        run(*args, **kwargs)
    return info.value.issues


@pytest.fixture
def client(platforms_url):
    """The API with a planner of the fixture's community (both staff and personal data) and
    a tiny configured unpacking limit."""
    settings = Settings(max_uncompressed_bytes=4000)
    app = create_app(settings, database_url=platforms_url)
    planner = StaffActor("account:planner", frozenset({COMMUNITY}))
    app.dependency_overrides[staff_user] = lambda: planner
    app.dependency_overrides[personal_data_user] = lambda: planner
    with TestClient(app) as c:
        yield c


def test_a_household_of_40000_people_is_a_row_error(conn, tmp_path):
    path = tmp_path / "一张表.xlsx"
    pd.DataFrame([HOUSEHOLD, {**HOUSEHOLD, "房号": "303", "人数": "40000"}]).to_excel(
        path, index=False
    )
    [issue] = _issues(import_households, conn, path, actor="t", community=COMMUNITY)
    assert (issue.row, issue.column, issue.code) == (3, "人数", "out_of_range")
    assert "40000" in issue.problem and "500" in issue.problem


def test_the_api_answers_a_huge_household_with_422(client, tmp_path):
    path = tmp_path / "一张表.csv"
    pd.DataFrame([{**HOUSEHOLD, "人数": "40000"}]).to_csv(path, index=False)
    response = client.post(
        "/api/v1/import/households", files={"file": (path.name, path.read_bytes(), "text/csv")}
    )
    assert response.status_code == 422
    [issue] = response.json()["issues"]
    assert (issue["row"], issue["column"], issue["code"]) == (2, "人数", "out_of_range")


def test_the_cli_says_a_huge_household_in_one_line(platforms_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", platforms_url)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "一张表.csv"
    pd.DataFrame([{**HOUSEHOLD, "人数": "40000"}]).to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "households", str(path), "--community", COMMUNITY])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the progress bars
    assert "超出范围" in last and "第 2 行「人数」" in last


@pytest.mark.parametrize(("floors", "code"), [("32768", "out_of_range"), ("5.5", "not_integer")])
def test_floors_out_of_range_are_row_errors(conn, tmp_path, floors, code):
    path = tmp_path / "b.geojson"
    _buildings(层数=["5", floors]).to_file(path)
    [issue] = _issues(import_buildings, conn, path, community=COMMUNITY)
    assert (issue.row, issue.column, issue.code) == (2, "层数", code)


def test_gbk_field_names_with_ascii_values_and_no_cpg(conn, tmp_path):
    path = tmp_path / "louzhuang.shp"
    gdf = _buildings()
    gdf["路名"] = ["Xinlu", "Xinlu"]
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    assert "路名".encode("gbk") in path.with_suffix(".dbf").read_bytes()
    assert import_buildings(conn, path, community=COMMUNITY).inserted == 2
    assert conn.execute(text("SELECT road FROM building WHERE id > 100")).scalars().all() == [
        "Xinlu",
        "Xinlu",
    ]


def test_a_self_intersecting_building_is_repaired_and_said_so(conn, tmp_path):
    path = tmp_path / "b.geojson"
    gdf = _buildings()
    bowtie = shapely.Polygon(
        [(109.183, 27.701), (109.1835, 27.7015), (109.1835, 27.701), (109.183, 27.7015)]
    )
    gdf.loc[1, "geometry"] = bowtie
    gdf.to_file(path)
    result = import_buildings(conn, path, community=COMMUNITY)
    assert result.inserted == 2
    repaired = [note for note in result.notes if "已自动修复" in note]
    assert len(repaired) == 1 and "第 2 个要素" in repaired[0]
    assert conn.execute(text("SELECT bool_and(ST_IsValid(geom)) FROM building")).scalar()


def test_lines_among_polygons_are_refused_feature_by_feature(conn, tmp_path):
    path = tmp_path / "b.geojson"
    gdf = _buildings(3)
    for i in (1, 2):
        gdf.loc[i, "geometry"] = shapely.LineString([(109.1825, 27.7012), (109.183, 27.7012)])
    gdf.to_file(path)
    issues = _issues(import_buildings, conn, path, community=COMMUNITY)
    assert [(i.row, i.code) for i in issues] == [(2, "geometry_type"), (3, "geometry_type")]
    assert "线" in issues[0].problem


def test_an_empty_layer_or_table_says_so(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    [issue] = _issues(read_vector, path, path.name, "4490")
    assert issue.code == "empty_layer" and "没有任何要素" in issue.problem
    table = tmp_path / "一张表.csv"
    table.write_text(",".join(HOUSEHOLD) + "\n\n", encoding="utf-8")
    [issue] = _issues(read_table, table, table.name)
    assert issue.code == "empty_table" and "没有数据行" in issue.problem


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_row_after_a_blank_line_is_numbered_as_the_file_shows(conn, tmp_path, suffix):
    path = tmp_path / f"一张表.{suffix}"
    body = pd.DataFrame([HOUSEHOLD, {**HOUSEHOLD, "房号": "303", "联系电话": "12"}])
    if suffix == "csv":
        lines = body.to_csv(index=False).splitlines()
        path.write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n", encoding="utf-8")
    else:
        sheet = openpyxl.Workbook()
        for row in [list(body.columns), list(body.iloc[0]), [], list(body.iloc[1])]:
            sheet.active.append(row)
        sheet.save(path)
    [issue] = _issues(import_households, conn, path, actor="t", community=COMMUNITY)
    assert (issue.row, issue.code) == (4, "bad_phone")


def test_importing_the_same_buildings_twice_adds_them_once(conn, tmp_path):
    path = tmp_path / "b.geojson"
    _buildings(楼栋=["1栋", "2栋"]).to_file(path)
    before = count(conn, "building")
    first = import_buildings(conn, path, community=COMMUNITY)
    second = import_buildings(conn, path, community=COMMUNITY)
    assert (first.inserted, first.updated) == (2, 0)
    assert (second.inserted, second.updated) == (0, 2) and "按地址匹配" in second.notes[0]
    assert count(conn, "building") == before + 2


def test_the_same_address_twice_in_the_database_asks_for_an_id(conn, tmp_path):
    path = tmp_path / "b.geojson"
    _buildings(1, 楼栋=["1栋"]).to_file(path)
    conn.execute(
        text(
            "INSERT INTO building (community_code, name, road, door_number, kind, floors, geom) "
            "SELECT community_code, '1栋', '新路', '1号', kind, floors, geom FROM building, "
            "generate_series(1, 2) WHERE id = 1"
        )
    )
    [issue] = _issues(import_buildings, conn, path, community=COMMUNITY)
    assert (issue.row, issue.code) == (1, "ambiguous_match")


def test_an_empty_upload_does_not_leak_the_server_path(client):
    response = client.post(
        "/api/v1/import/buildings",
        files={"file": ("b.geojson", b"", "application/geo+json")},
    )
    assert response.status_code == 422
    assert "/tmp" not in response.text and "文件是空的" in response.json()["detail"]
    garbage = client.post(
        "/api/v1/import/buildings", files={"file": ("b.geojson", b"{nope", "application/json")}
    )
    assert garbage.status_code == 422 and "/tmp" not in garbage.text


def test_the_household_import_honours_the_configured_limits(client, platforms_url, tmp_path):
    path = tmp_path / "一张表.xlsx"
    pd.DataFrame([HOUSEHOLD] * 50).to_excel(path, index=False)
    response = client.post(
        "/api/v1/import/households", files={"file": (path.name, path.read_bytes(), "x")}
    )
    assert response.status_code == 422
    assert [i["code"] for i in response.json()["issues"]] == ["zip_too_large"]


def test_the_cli_household_import_honours_the_configured_limits(
    platforms_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", platforms_url)
    monkeypatch.setenv("WANGGE_MAX_UNCOMPRESSED_BYTES", "4000")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "一张表.xlsx"
    pd.DataFrame([HOUSEHOLD] * 50).to_excel(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "households", str(path), "--community", COMMUNITY])
    assert exit_info.value.code == 2
    assert "解压后" in capsys.readouterr().err


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # valid but for the check digit below
        "520602199913320011",  # 13th month
        "000000199001010011",  # no such region
    ],
)
def test_id_numbers_are_checked_for_region_birth_date_and_check_digit(conn, tmp_path, number):
    from stdnum.cn import ric

    if number.endswith("002X"):
        number = number[:17] + "1"
    else:
        number = number[:17] + ric.calc_check_digit(number)
    path = tmp_path / "一张表.csv"
    pd.DataFrame([{**HOUSEHOLD, "身份证号": number}]).to_csv(path, index=False)
    [issue] = _issues(import_households, conn, path, actor="t", community=COMMUNITY)
    assert (issue.row, issue.code) == (2, "bad_id_number")


def test_control_characters_and_a_malformed_area_are_refused(conn, client, tmp_path):
    """A NUL cannot be stored in PostgreSQL text: a row error, not a 500."""
    path = tmp_path / "一张表.csv"
    pd.DataFrame([{**HOUSEHOLD, "户主姓名": "赵\x00六"}]).to_csv(path, index=False)
    [issue] = _issues(import_households, conn, path, actor="t", community=COMMUNITY)
    assert (issue.row, issue.column, issue.code) == (2, "户主姓名", "control_character")
    admin = client.app.dependency_overrides
    admin[staff_user] = lambda: StaffActor("account:admin")
    layer = tmp_path / "b.geojson"
    _buildings().to_file(layer)
    response = client.post(
        "/api/v1/import/buildings",
        data={"community": "52\x00"},
        files={"file": (layer.name, layer.read_bytes(), "application/geo+json")},
    )
    assert response.status_code == 422
    assert [i["code"] for i in response.json()["issues"]] == ["no_community"]
