"""``wangge divide`` on files in any CRS; ``wangge check`` and ``rebalance`` on the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest
import shapely

from data.settings import libpq_url
from tests.engine.synthetic import synthetic_community

WANGGE = [sys.executable, "-m", "api.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*WANGGE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def community_files(tmp_path_factory) -> dict[str, Path]:
    """A synthetic community written as a WGS84 GeoJSON, a GK-zone Shapefile and barriers."""
    folder = tmp_path_factory.mktemp("divide")
    c = synthetic_community(seed=3)
    layer = c.buildings.reset_index(names="bid").rename(
        columns={"households": "hh", "compound_id": "xq"}
    )
    layer["xq"] = layer["xq"].astype("string")
    pyogrio.write_dataframe(layer.to_crs(4326), folder / "buildings.geojson")
    pyogrio.write_dataframe(layer, folder / "buildings.shp", encoding="UTF-8")
    gpd.GeoDataFrame(geometry=[c.boundary], crs=c.buildings.crs).to_file(folder / "boundary.gpkg")
    pyogrio.write_dataframe(c.barriers, folder / "barriers.gpkg")
    return {
        "folder": folder,
        "geojson": folder / "buildings.geojson",
        "shp": folder / "buildings.shp",
        "boundary": folder / "boundary.gpkg",
        "barriers": folder / "barriers.gpkg",
        "total": int(layer["hh"].sum()),
    }


@pytest.mark.parametrize("source", ["geojson", "shp"])
def test_divide_any_crs_writes_grids_and_buildings(community_files, source: str) -> None:
    out = community_files["folder"] / f"out-{source}.gpkg"
    result = run(
        "divide",
        community_files[source],
        "--households-field",
        "hh",
        "--compound-field",
        "xq",
        "--boundary",
        community_files["boundary"],
        "--barriers",
        community_files["barriers"],
        "--community-code",
        "520602001001",
        "--seed",
        "1",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "EPSG:4490" in result.stderr
    assert {name for name, _ in pyogrio.list_layers(out)} == {"grids", "buildings"}
    grids = gpd.read_file(out, layer="grids")
    buildings = gpd.read_file(out, layer="buildings")
    assert grids.crs.to_epsg() == 4490 and buildings.crs.to_epsg() == 4490
    assert grids["households"].between(300, 500).all()
    assert grids["households"].sum() == community_files["total"]
    assert grids["code"].str.fullmatch(r"520602001001\d{3}").all()
    assert set(buildings["grid_code"]) == set(grids["code"])
    assert {"bid", "hh", "xq"} <= set(buildings.columns)
    assert shapely.coverage_is_valid(grids.to_crs(4545).geometry.values)
    # every building's point lies in its own grid
    joined = gpd.sjoin(
        buildings.set_geometry(buildings.representative_point()), grids, predicate="within"
    )
    assert (joined["grid_code"] == joined["code"]).all() and len(joined) == len(buildings)


def test_divide_in_a_czech_crs_measures_in_utm_and_writes_cgcs2000(tmp_path: Path) -> None:
    """The same community moved to Prague and written in S-JTSK (EPSG:5514): divided in UTM 33N."""
    c = synthetic_community(seed=3)
    shift = {"xoff": 458_000.0 - 480_000.0, "yoff": 5_548_000.0 - 3_060_000.0}

    def moved(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame.set_geometry(frame.translate(**shift)).set_crs(32633, allow_override=True)

    layer = moved(c.buildings.reset_index(names="bid")).to_crs(5514)
    pyogrio.write_dataframe(layer, tmp_path / "praha.gpkg")
    pyogrio.write_dataframe(moved(c.barriers).to_crs(5514), tmp_path / "bariery.gpkg")
    out = tmp_path / "out.gpkg"
    result = run(
        "divide",
        tmp_path / "praha.gpkg",
        "--households-field",
        "households",
        "--barriers",
        tmp_path / "bariery.gpkg",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "EPSG:32633" in result.stderr and "EPSG:4490" in result.stderr
    grids = gpd.read_file(out, layer="grids")
    assert grids.crs.to_epsg() == 4490
    assert grids["households"].sum() == c.buildings["households"].sum()
    assert 14 < grids.union_all().centroid.x < 15


def test_divide_writes_the_plan_of_least_violation_and_names_it(tmp_path: Path) -> None:
    """A 502-household tower (no unit data in a file): its own grid, named; --strict refuses."""
    c = synthetic_community(seed=3)
    layer = c.buildings.reset_index(names="bid")
    tower = int(layer["households"].idxmax())
    layer.loc[tower, "households"] = 502
    pyogrio.write_dataframe(layer, tmp_path / "tower.gpkg")
    args = ["divide", tmp_path / "tower.gpkg", "--households-field", "households"]
    result = run(*args, "--out", tmp_path / "out.gpkg", "--time-limit", "30")
    assert result.returncode == 0, result.stderr
    assert "（502 户）无单元数据，单独成格，超上限 2 户" in result.stderr
    grids = gpd.read_file(tmp_path / "out.gpkg", layer="grids")
    assert (grids["households"] == 502).sum() == 1
    strict = run(*args, "--out", tmp_path / "strict.gpkg", "--strict")
    assert strict.returncode == 2 and "超过每格 500 户的上限" in strict.stderr
    assert not (tmp_path / "strict.gpkg").exists()


def test_divide_time_limit_is_not_an_error(community_files) -> None:
    """A budget that ends the search gives the best plan so far, and says so; never an error.
    (A quiet machine may finish this small community within the budget: then all in band.)"""
    out = community_files["folder"] / "quick.gpkg"
    args = ["--households-field", "hh", "--time-limit", "0.1", "--out", out]
    result = run("divide", community_files["geojson"], *args)
    assert result.returncode == 0, result.stderr
    grids = gpd.read_file(out, layer="grids")
    assert grids["households"].sum() == community_files["total"]
    outside = (~grids["households"].between(300, 500)).sum()
    assert result.stderr.count("未在时限内找到满足全部规则的划分") == outside
    if "已到 0.1 秒时限" not in result.stderr:
        assert outside == 0


def test_divide_without_boundary_uses_the_hull(community_files) -> None:
    out = community_files["folder"] / "hull.gpkg"
    result = run("divide", community_files["geojson"], "--households-field", "hh", "--out", out)
    assert result.returncode == 0, result.stderr
    assert gpd.read_file(out, layer="grids")["households"].sum() == community_files["total"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--households-field", "nope"], "没有此字段"),
        (["--households-field", "hh", "--band", "500-300"], "--band"),
    ],
)
def test_divide_bad_input_is_one_line_exit_2(community_files, args, expected) -> None:
    out = community_files["folder"] / "bad.gpkg"
    result = run("divide", community_files["geojson"], *args, "--out", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_divide_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run("divide", tmp_path / "none.shp", "--households-field", "hh", "--out", "x.gpkg")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_and_rebalance_a_community_in_the_database(isolated_url: str) -> None:
    env = {"DATABASE_URL": isolated_url}
    code = run("db", "status", env=env)
    assert code.returncode == 0, code.stderr
    with psycopg.connect(libpq_url(isolated_url)) as conn:
        community = conn.execute("SELECT min(code) FROM community").fetchone()[0]
    checked = run("check", community, "--json", env=env)
    assert checked.returncode == 1  # the fixture's published plan is deliberately imperfect
    assert '"ok": false' in checked.stdout
    rebalanced = run("rebalance", community, "--actor", "测试", env=env)
    assert rebalanced.returncode == 0, rebalanced.stderr
    assert "户换了网格员" in rebalanced.stderr
    with psycopg.connect(libpq_url(isolated_url)) as conn:
        draft = conn.execute(
            "SELECT updated_by FROM grid_plan WHERE status = 'draft' AND community_code = %s",
            (community,),
        ).fetchone()
        audit = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'rebalance'").fetchone()
    assert draft == ("测试",)
    assert audit == (1,)
    best = run("rebalance", community, "--best", env=env)  # the draft is in band: moves none
    assert best.returncode == 0, best.stderr
    assert "、0 户换了网格员" in best.stderr
    unknown = run("check", "520602999999", env=env)
    assert unknown.returncode == 2 and "没有已发布的方案" in unknown.stderr


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("input", "就是输入文件"),
        ("missing/dir/x.gpkg", "不存在"),
        (".", "是一个文件夹"),
    ],
)
def test_divide_refuses_an_output_it_cannot_or_must_not_write(
    community_files, out, expected
) -> None:
    source = community_files["geojson"]
    before = source.read_bytes()
    target = source if out == "input" else community_files["folder"] / out
    result = run("divide", source, "--households-field", "hh", "--out", target)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]
    assert source.read_bytes() == before


def test_divide_names_bad_features_by_their_number_in_the_file(community_files, tmp_path) -> None:
    layer = gpd.read_file(community_files["geojson"])
    layer["hh"] = layer["hh"].astype(str)
    layer.loc[4, "hh"] = "很多"
    layer.loc[6, "geometry"] = shapely.LineString([(0, 0), (1, 1)])
    path = tmp_path / "bad.geojson"
    layer.to_file(path)
    result = run("divide", path, "--households-field", "hh", "--out", tmp_path / "o.gpkg")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "bad.geojson 第 5 个要素「hh」" in line and "共 2 个问题" in line


def test_divide_says_an_empty_layer_is_empty(tmp_path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    result = run("divide", path, "--households-field", "hh", "--out", tmp_path / "o.gpkg")
    assert result.returncode == 2
    assert "没有任何要素" in result.stderr and "NaN" not in result.stderr
