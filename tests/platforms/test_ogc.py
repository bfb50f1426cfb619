"""OGC API – Features at /ogc, through GDAL's OAPIF driver against a real uvicorn, and Part 2
CRS requests compared with PROJ."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from pyproj import Transformer

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
GRID = "520602001001001"


def ogr(*args: str) -> str:
    done = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gdal_oapif_lists_public_collections_only(live_server):
    out = ogr(f"OAPIF:{live_server}/ogc")
    for name in ("grids", "communities", "streets"):
        assert name in out
    assert "household" not in out and "buildings" not in out


def test_gdal_oapif_reads_grids_with_codes_and_staff(live_server):
    out = ogr("-al", f"OAPIF:{live_server}/ogc", "grids")
    assert "Feature Count: 2" in out or out.count("OGRFeature(grids)") == 2
    assert GRID in out and "赵网格长" in out and "0856-5200001" in out
    assert "草稿网格" not in out  # draft plans are not public
    assert "MULTIPOLYGON (((109.18 27.7" in out  # CRS84: lon/lat


def first_vertex(feature: dict) -> list[float]:
    return feature["geometry"]["coordinates"][0][0][0]


@pytest.mark.parametrize(("epsg", "north_first"), [(4490, True), (4545, True), (3857, False)])
def test_part2_crs_with_axis_order_and_content_crs(live_server, epsg, north_first):
    url = f"{live_server}/ogc/collections/grids/items/{GRID}"
    r = httpx.get(url, params={"crs": f"{EPSG}{epsg}"})
    assert r.status_code == 200
    assert r.headers["content-crs"] == f"<{EPSG}{epsg}>"
    x, y = Transformer.from_crs(4490, epsg, always_xy=True).transform(109.18, 27.70)
    got = first_vertex(r.json())
    expected = [y, x] if north_first else [x, y]
    scale = 111_000 if epsg == 4490 else 1
    assert abs(got[0] - expected[0]) * scale < 0.01 and abs(got[1] - expected[1]) * scale < 0.01


def test_bbox_crs_selects_in_the_crs_axis_order(live_server):
    items = f"{live_server}/ogc/collections/grids/items"
    # Only grid 2 (109.19–109.20°E) lies in this lat/lon box given in EPSG:4490 order.
    r = httpx.get(
        items, params={"bbox": "27.705,109.195,27.706,109.196", "bbox-crs": f"{EPSG}4490"}
    )
    assert [f["id"] for f in r.json()["features"]] == ["520602001001002"]
    assert r.headers["content-crs"].endswith("CRS84>")
    e, n = Transformer.from_crs(4490, 4545, always_xy=True).transform(109.185, 27.71)
    r = httpx.get(items, params={"bbox": f"{n},{e},{n + 1},{e + 1}", "bbox-crs": f"{EPSG}4545"})
    assert [f["id"] for f in r.json()["features"]] == [GRID]


def test_paging_conformance_openapi_html_and_errors(live_server):
    base = f"{live_server}/ogc"
    page = httpx.get(f"{base}/collections/grids/items", params={"limit": 1}).json()
    assert page["numberMatched"] == 2 and page["numberReturned"] == 1
    nxt = next(li["href"] for li in page["links"] if li["rel"] == "next")
    assert httpx.get(nxt).json()["features"][0]["id"] == "520602001001002"
    conf = httpx.get(f"{base}/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    assert httpx.get(f"{base}/api").json()["openapi"].startswith("3.0")
    coll = httpx.get(f"{base}/collections/grids").json()
    assert f"{EPSG}4545" in coll["crs"] and coll["storageCrs"] == f"{EPSG}4490"
    html = httpx.get(f"{base}/collections/grids/items", params={"f": "html"})
    assert html.headers["content-type"].startswith("text/html") and "桃园1网格" in html.text
    assert httpx.get(f"{base}/collections/household/items").status_code == 404
    bad = httpx.get(f"{base}/collections/grids/items", params={"crs": f"{EPSG}2000"})
    assert bad.status_code == 400


def test_links_escape_query_values_and_parameters_answer_400(live_server):
    base = f"{live_server}/ogc/collections/grids/items"
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    page = httpx.get(base, params={"limit": 1, "crs": crs84}).json()
    nxt = next(li["href"] for li in page["links"] if li["rel"] == "next")
    assert "crs=http%3A%2F%2Fwww.opengis.net" in nxt and "&offset=1" in nxt
    assert httpx.get(nxt).json()["features"][0]["id"] == "520602001001002"
    for params in ({"limit": "abc"}, {"offset": "-1"}, {"colour": "red"}):
        r = httpx.get(base, params=params)
        assert r.status_code == 400, params
        assert r.json()["code"] == "InvalidParameterValue"
    assert httpx.get(f"{live_server}/ogc/collections", params={"x": "1"}).status_code == 400


def test_schema_queryables_extent_and_chinese_html(live_server):
    base = f"{live_server}/ogc/collections/grids"
    coll = httpx.get(base).json()
    described = next(li["href"] for li in coll["links"] if li["rel"] == "describedby")
    schema = httpx.get(described).json()
    assert schema["properties"]["households"]["type"] == "integer"
    assert schema["properties"]["name"] == {"title": "网格名称", "type": "string"}
    assert httpx.get(f"{base}/queryables").json() == schema
    xmin, ymin, xmax, ymax = coll["extent"]["spatial"]["bbox"][0]
    assert 109.17 < xmin < xmax < 109.21 and 27.69 < ymin < ymax < 27.73
    page = httpx.get(f"{live_server}/ogc/collections", params={"f": "html"}).text
    assert '<html lang="zh-CN">' in page and "数据集" in page and "Collections" not in page
