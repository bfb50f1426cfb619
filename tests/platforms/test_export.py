"""Exports read back by GDAL's own ogrinfo: the right SRS, and coordinates within 0.01 m of
PROJ's transform (or of the published GCJ-02/BD-09 formulas for the offset systems)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from pyproj import CRS, Transformer
from sqlalchemy import text

from data.exchange.export import ExportError, ExportForbidden, export, short_names
from geo import offsets
from geo.targets import offset_of

FIRST_VERTEX = (109.18, 27.70)  # first vertex of grid 520602001001001 in EPSG:4490


def ogrinfo(*args: str) -> str:
    done = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, check=True)
    return done.stdout


def dataset(path: Path, layer: str) -> str:
    if path.suffix == ".zip":
        names = zipfile.ZipFile(path).namelist()
        member = next(n for n in (f"{layer}.shp", f"{layer}.csv") if n in names)
        return f"/vsizip/{path}/{member}"
    return str(path)


def srs_of(source: str) -> CRS:
    out = ogrinfo("-al", "-so", source)
    wkt = out.split("Layer SRS WKT:\n", 1)[1].split("\nData axis", 1)[0]
    return CRS.from_wkt(wkt)


def first_xy(source: str) -> tuple[float, float]:
    out = ogrinfo("-al", "-q", "-where", "code = '520602001001001'", source)
    match = re.search(r"(?:MULTI)?POLYGON \(+([-\d.eE+]+) ([-\d.eE+]+)", out)
    assert match, out[:500]
    return float(match[1]), float(match[2])


def expected_xy(crs: str) -> tuple[float, float]:
    lon, lat = FIRST_VERTEX
    if crs in ("gcj02", "bd09"):
        return offsets.convert(lon, lat, "wgs84", crs)
    epsg = {"gk": 4545}.get(crs, crs)
    return Transformer.from_crs(4490, int(epsg), always_xy=True).transform(lon, lat)


def metres_apart(a, b, geographic: bool) -> float:
    dx, dy = a[0] - b[0], a[1] - b[1]
    if geographic:
        dx, dy = dx * 111_320 * 0.885, dy * 110_574
    return (dx * dx + dy * dy) ** 0.5


CASES = [
    (fmt, crs)
    for fmt in ("gpkg", "shp", "geojson", "fgb", "csv")
    for crs in ("4326", "4490", "gk", "3857")
] + [("kml", "4326"), ("gpkg", "gcj02"), ("fgb", "bd09"), ("shp", "gcj02")]


@pytest.mark.parametrize(("fmt", "crs"), CASES)
def test_export_reads_back_with_the_right_srs_and_coordinates(platforms_engine, tmp_path, fmt, crs):
    result = export(platforms_engine, ["grids"], fmt, crs, tmp_path)
    assert result.counts == {"grids": 2}  # published plan only, not the draft
    source = dataset(result.path, "grids")
    srs = srs_of(source)
    if crs in ("gcj02", "bd09"):
        assert {"gcj02": "GCJ-02", "bd09": "BD-09"}[crs] in srs.name
        assert offset_of(srs) == crs  # what Wangge's import recognises
        assert result.path.stem.endswith("GCJ-02" if crs == "gcj02" else "BD-09")
    else:
        epsg = 4545 if crs == "gk" else int(crs)
        assert srs.to_epsg(min_confidence=70) == epsg, srs.name
        assert f"EPSG-{epsg}" in result.path.name
    got = first_xy(source)
    assert metres_apart(got, expected_xy(crs), srs.is_geographic) < 0.01


def test_shapefile_gbk_has_cpg_short_names_mapping_and_readme(platforms_engine, tmp_path):
    result = export(platforms_engine, ["grids"], "shp", "gk", tmp_path, encoding="GBK")
    zf = zipfile.ZipFile(result.path)
    names = set(zf.namelist())
    assert {"grids.shp", "grids.shx", "grids.dbf", "grids.prj", "grids.cpg"} <= names
    assert zf.read("grids.cpg").decode() == "GBK"
    assert "桃园1网格".encode("gbk") in zf.read("grids.dbf")
    mapping = list(csv.DictReader(io.StringIO(zf.read("fields.csv").decode("utf-8-sig"))))
    assert {"short_name": "community_", "field": "community_code"}.items() <= mapping[3].items()
    assert all(len(row["short_name"]) <= 10 for row in mapping)
    readme = zf.read("README.txt").decode()
    assert "EPSG:4545" in readme and "GBK" in readme
    out = ogrinfo("-al", "-q", dataset(result.path, "grids"))
    assert "桃园1网格" in out and "赵网格长" in out and "0856-5200002" in out


def test_short_names_stay_unique():
    names = short_names(["community_code", "community_name", "community"])
    assert len(set(names.values())) == 3
    assert all(len(v) <= 10 for v in names.values())


def test_mixed_building_geometries_become_one_shapefile_per_type(platforms_engine, tmp_path):
    result = export(platforms_engine, ["buildings"], "shp", "4490", tmp_path, actor="t")
    names = zipfile.ZipFile(result.path).namelist()
    assert "buildings_polygon.shp" in names and "buildings_point.shp" in names


def test_several_layers_in_one_geopackage(platforms_engine, tmp_path):
    result = export(platforms_engine, ["grids", "communities", "streets"], "gpkg", "gk", tmp_path)
    listing = ogrinfo(str(result.path))
    assert all(name in listing for name in ("grids", "communities", "streets"))
    assert result.counts == {"grids": 2, "communities": 2, "streets": 1}


def test_bad_requests_are_refused(platforms_engine, tmp_path):
    with pytest.raises(ExportError, match="KML"):
        export(platforms_engine, ["grids"], "kml", "3857", tmp_path)
    with pytest.raises(ExportError, match="坐标系"):
        export(platforms_engine, ["grids"], "gpkg", "2000", tmp_path)
    with pytest.raises(ExportError, match="GeoPackage"):
        export(platforms_engine, ["grids", "streets"], "shp", "4490", tmp_path)
    with pytest.raises(ExportForbidden):
        export(platforms_engine, ["buildings"], "gpkg", "4490", tmp_path)


def _audits(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM audit_log WHERE object_type = 'households'")
        ).scalar_one()


def test_household_export_needs_a_reason_and_is_audited(platforms_engine, tmp_path):
    before = _audits(platforms_engine)
    with pytest.raises(ExportForbidden, match="理由"):
        export(platforms_engine, ["households"], "csv", "4490", tmp_path, actor="operator:t")
    assert _audits(platforms_engine) == before
    result = export(
        platforms_engine,
        ["households"],
        "csv",
        "4490",
        tmp_path,
        actor="operator:t",
        reason="民政走访名单",
    )
    assert result.counts == {"households": 3}
    with platforms_engine.connect() as conn:
        row = conn.execute(
            text("SELECT actor, reason, detail FROM audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    assert row.actor == "operator:t" and row.reason == "民政走访名单"
    assert row.detail["features"] == 3 and row.detail["format"] == "csv"
    assert _audits(platforms_engine) == before + 1
