"""Imports hold the caller's scope (issue 13, item 1): a planner of community A cannot take
over, edit or attach to an object of community B through any import kind, and an operator's
import into one community cannot touch another's. Every refusal names the row and id."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from api.cli import main
from data.db import make_engine
from tests.conftest import serving
from tests.planning.conftest import World


def _inside(world: World, community: str, dx: float = 0.0) -> shapely.Polygon:
    """A small footprint well inside ``community``."""
    [(wkt,)] = world.sql(
        "SELECT ST_AsText(ST_PointOnSurface(geom)) FROM community WHERE code = :c", c=community
    )
    point = shapely.from_wkt(wkt)
    return shapely.box(point.x + dx, point.y, point.x + dx + 0.0001, point.y + 0.0001)


def _geojson(rows: list[dict], geoms: list[shapely.Geometry]) -> bytes:
    features = [
        {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        for props, geom in zip(rows, geoms, strict=True)
    ]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    return json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}).encode()


def _other_building(world: World) -> tuple[int, str]:
    [(building, wkt)] = world.sql(
        "SELECT id, ST_AsText(geom) FROM building WHERE community_code = :c", c=world.other
    )
    return building, wkt


def _other_compound(world: World) -> int:
    engine = make_engine(world.url)
    with engine.begin() as conn:
        compound = conn.execute(
            text(
                "INSERT INTO compound (community_code, name, geom) SELECT code, '东山小区', "
                "ST_Buffer(ST_PointOnSurface(geom), 0.0005, 2) FROM community WHERE code = :c "
                "RETURNING id"
            ),
            {"c": world.other},
        ).scalar_one()
    engine.dispose()
    return compound


def _post(world: World, kind: str, body: bytes, name: str = "import.geojson", **form):
    return world.clients["planner"].post(
        f"/api/v1/import/{kind}",
        files={"file": (name, body, "application/octet-stream")},
        data=form,
    )


def test_a_planner_cannot_take_over_a_building_of_another_community(world: World) -> None:
    building, before = _other_building(world)
    body = _geojson(
        [{"id": building, "路名": "桃园路", "门牌号": "99号", "层数": 5, "楼栋": "夺"}],
        [_inside(world, world.home)],
    )
    response = _post(world, "buildings", body)
    assert response.status_code == 422, response.text
    [issue] = response.json()["issues"]
    assert issue["code"] == "out_of_scope" and issue["row"] == 1
    assert str(building) in issue["problem"]
    assert world.sql(
        "SELECT community_code, ST_AsText(geom) FROM building WHERE id = :b", b=building
    )[0] == (world.other, before)


def test_a_planner_cannot_take_over_a_compound_of_another_community(world: World) -> None:
    compound = _other_compound(world)
    body = _geojson([{"id": compound, "小区名称": "夺来的小区"}], [_inside(world, world.home)])
    response = _post(world, "compounds", body)
    assert response.status_code == 422, response.text
    assert [i["code"] for i in response.json()["issues"]] == ["out_of_scope"]
    assert world.sql("SELECT community_code, name FROM compound WHERE id = :c", c=compound) == [
        (world.other, "东山小区")
    ]


@pytest.mark.parametrize("kind", ["buildings", "compounds", "households"])
def test_every_import_kind_refuses_an_object_of_another_community(world: World, kind) -> None:
    """The sibling sweep: for each kind, an object of B (by id, by reference or by address)
    in a planner of A's upload is a row error, and nothing is written."""
    building, _ = _other_building(world)
    compound = _other_compound(world)
    counts = world.sql(
        "SELECT (SELECT count(*) FROM building), (SELECT count(*) FROM compound), "
        "(SELECT count(*) FROM household)"
    )
    if kind == "buildings":  # B's compound named by a new building in A; B's building by id
        props = {"路名": "桃园路", "门牌号": "98号", "层数": 5}
        body = _geojson(
            [{**props, "小区编号": compound}, {**props, "id": building, "楼栋": "2"}],
            [_inside(world, world.home), _inside(world, world.home, 0.0002)],
        )
        response = _post(world, kind, body)
        expected = {(1, "compound_elsewhere"), (2, "out_of_scope")}
    elif kind == "compounds":  # a new compound drawn inside B
        body = _geojson([{"小区名称": "越界小区"}], [_inside(world, world.other)])
        response = _post(world, kind, body)
        expected = {(1, "outside_area")}
    else:  # a household at B's building's address
        table = pd.DataFrame(
            [
                {
                    "户主姓名": "越界",
                    "路名": "东山路",
                    "门牌号": "1号",
                    "楼层": "1",
                    "房号": "999",
                    "人数": "1",
                }
            ]
        )
        response = _post(world, kind, table.to_csv(index=False).encode(), name="一张表.csv")
        expected = {(2, "no_building")}
    assert response.status_code == 422, response.text
    assert {(i["row"], i["code"]) for i in response.json()["issues"]} == expected
    assert all("problem" in i and not i["problem"].isascii() for i in response.json()["issues"])
    after = world.sql(
        "SELECT (SELECT count(*) FROM building), (SELECT count(*) FROM compound), "
        "(SELECT count(*) FROM household)"
    )
    assert after == counts


def test_a_planner_cannot_import_into_another_community_by_naming_it(world: World) -> None:
    body = _geojson([{"小区名称": "越界小区"}], [_inside(world, world.other)])
    assert _post(world, "compounds", body, community=world.other).status_code == 403


@pytest.mark.parametrize(("into", "code"), [("home", "out_of_scope"), (None, "moved_community")])
def test_an_operator_import_cannot_take_a_building_of_another_community(
    world: World, tmp_path, monkeypatch, capsys, into, code
):
    """``wangge import buildings --community A`` with B's building: out of scope; without
    ``--community`` (the whole district) the update still may not change its community."""
    building, before = _other_building(world)
    path = tmp_path / "b.geojson"
    path.write_bytes(
        _geojson(
            [{"id": building, "路名": "东山路", "门牌号": "1号", "层数": 20, "楼栋": "1栋"}],
            [_inside(world, world.home)],
        )
    )
    monkeypatch.setenv("DATABASE_URL", world.url)
    monkeypatch.chdir(tmp_path)
    where = ["--community", world.home] if into else []
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "buildings", str(path), *where])
    assert exit_info.value.code == 2
    assert code in (tmp_path / "import-report.csv").read_text(encoding="utf-8-sig")
    assert f"楼栋 {building} " in capsys.readouterr().err
    assert world.sql("SELECT ST_AsText(geom) FROM building WHERE id = :b", b=building) == [
        (before,)
    ]


@pytest.mark.browser
def test_the_import_page_shows_refusals_and_repairs(world: World, chromium, tmp_path) -> None:
    """A planner imports a file naming B's building (the report lists it, in Chinese), then a
    good file with a self-intersecting footprint (the page says it was repaired)."""
    building, _ = _other_building(world)
    box = _inside(world, world.home)
    x0, y0, x1, y1 = box.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    props = {"路名": "桃园路", "门牌号": "97号", "层数": 5, "楼栋": "蝶"}
    hostile, good = tmp_path / "hostile.geojson", tmp_path / "good.geojson"
    hostile.write_bytes(_geojson([{**props, "id": building}], [box]))
    good.write_bytes(_geojson([props], [bowtie]))
    with serving(world.url) as base:
        page = chromium.new_page(viewport={"width": 390, "height": 844})
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(m.location["url"]) if m.type == "error" else None
        )
        page.goto(f"{base}/plan/{world.home}/import")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/plan/{world.home}/import")
        page.set_input_files("#wg-file", str(hostile))
        page.click("#wg-import button[type=submit]")
        page.wait_for_selector("#wg-result table")
        assert f"楼栋 {building} 不在本次导入的范围内" in page.inner_text("#wg-result")
        page.set_input_files("#wg-file", str(good))
        page.click("#wg-import button[type=submit]")
        page.wait_for_selector("#wg-result p.note")
        result = page.inner_text("#wg-result")
        assert "导入成功" in result and "已自动修复" in result
        page.screenshot(path=str(tmp_path / "import.png"), full_page=True)
    # the refused import's 422 is expected; /favicon.ico is the app's (no icon is served)
    assert {url.removeprefix(base) for url in errors} <= {
        "/api/v1/import/buildings",
        "/favicon.ico",
    }
