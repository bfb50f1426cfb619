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


def test_divide_without_boundary_uses_the_hull(community_files) -> None:
    out = community_files["folder"] / "hull.gpkg"
    result = run("divide", community_files["geojson"], "--households-field", "hh", "--out", out)
    assert result.returncode == 0, result.stderr
    assert gpd.read_file(out, layer="grids")["households"].sum() == community_files["total"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--households-field", "nope"], "no such field"),
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
    assert "households change grid worker" in rebalanced.stderr
    with psycopg.connect(libpq_url(isolated_url)) as conn:
        draft = conn.execute(
            "SELECT updated_by FROM grid_plan WHERE status = 'draft' AND community_code = %s",
            (community,),
        ).fetchone()
        audit = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'rebalance'").fetchone()
    assert draft == ("测试",)
    assert audit == (1,)
    unknown = run("check", "520602999999", env=env)
    assert unknown.returncode == 2 and "no published plan" in unknown.stderr
