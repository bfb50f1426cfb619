"""Vector tiles, the public pages with their local assets, and the signboard (HTML and PDF)."""

from __future__ import annotations

import math
import re
import subprocess

import mapbox_vector_tile
import pytest

from maps.assets import asset_paths
from maps.public import basemap


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_grid_tile_holds_the_grid_with_public_attributes_only(open_client, facts):
    x, y = _tile(*facts.inside, 15)
    r = open_client.get(f"/tiles/grids/15/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content)["grids"]
    codes = {f["properties"]["code"] for f in layer["features"]}
    assert facts.grid_code in codes
    assert set(layer["features"][0]["properties"]) == {"code", "number", "name", "community"}


@pytest.mark.parametrize("coordsys", ["wgs84", "gcj02"])
def test_overlay_tile_is_the_three_public_layers_in_drawing_order(open_client, facts, coordsys):
    """One request per map tile: the streets, communities and grids tiles, concatenated (an
    MVT tile is a sequence of layers), the grids last so that they are drawn on top."""
    x, y = _tile(*facts.inside, 15)
    params = {"coordsys": coordsys}
    r = open_client.get(f"/tiles/overlay/15/{x}/{y}.pbf", params=params)
    assert r.status_code == 200
    parts = [
        open_client.get(f"/tiles/{layer}/15/{x}/{y}.pbf", params=params).content
        for layer in ("streets", "communities", "grids")
    ]
    assert r.content == b"".join(parts)
    assert list(mapbox_vector_tile.decode(r.content)) == ["streets", "communities", "grids"]


def test_other_layers_and_bad_tiles(open_client, facts):
    x, y = _tile(*facts.inside, 12)
    for layer in ("communities", "streets"):
        r = open_client.get(f"/tiles/{layer}/12/{x}/{y}.pbf")
        assert r.status_code == 200 and layer in mapbox_vector_tile.decode(r.content)
    assert open_client.get("/tiles/grids/3/0/0.pbf").status_code in (200, 204)
    assert open_client.get("/tiles/grids/25/0/0.pbf").status_code == 400
    assert open_client.get("/tiles/grids/3/9/0.pbf").status_code == 400
    assert open_client.get("/tiles/households/3/0/0.pbf").status_code == 422


@pytest.mark.parametrize("path", ["/find", "/map", "/g/{code}"])
def test_pages_link_only_local_assets(open_client, facts, path):
    r = open_client.get(path.format(code=facts.grid_code))
    assert r.status_code == 200
    html = r.text
    assert '<html lang="zh-CN">' in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "an asset comes from outside"
    for url in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html):
        assert open_client.get(url).status_code == 200, url


def test_every_vendored_asset_is_served(open_client):
    for url in asset_paths():
        r = open_client.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and len(r.content) > 1000, url
    css = open_client.get("/static/vendor/fontawesome/css/all.min.css").text
    for font in set(re.findall(r"url\(\.\./webfonts/([^)]+\.woff2)\)", css)):
        assert open_client.get(f"/static/vendor/fontawesome/webfonts/{font}").status_code == 200


def test_basemaps():
    assert basemap("none") is None
    assert basemap("amap").datum == basemap("tencent").datum == "gcj02"
    assert "tk=KEY" in basemap("tianditu", tianditu_key="KEY").url
    with pytest.raises(ValueError):
        basemap("tianditu")
    with pytest.raises(ValueError):
        basemap("google")


def test_signboard_page(open_client, facts):
    r = open_client.get(f"/g/{facts.grid_code}/signboard")
    assert r.status_code == 200
    html = r.text
    assert "网格公示牌" in html and facts.grid_code in html
    assert f"/g/{facts.grid_code}" in html  # the QR code's URL, printed under it too
    assert html.count("<svg") >= 2  # the map and the QR code
    card = open_client.get(f"/api/v1/lookup/grids/{facts.grid_code}").json()
    for person in card["staff"]:
        assert person["name"] in html
        if person["phone"]:
            assert person["phone"] in html


def test_signboard_pdf_renders_one_a4_page_in_chinese(open_client, facts, tmp_path):
    r = open_client.get(f"/g/{facts.grid_code}/signboard.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "signboard.pdf"
    pdf.write_bytes(r.content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+1\n", info.stdout)
    assert "(A4)" in info.stdout
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # Chromium embeds the Noto CJK glyphs as Type 3 fonts with a ToUnicode map: the Chinese
    # text comes back out of the PDF only if it was laid out with real glyphs.
    assert "网格公示牌" in text and "网格工作人员" in text
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    png = (tmp_path / "page.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_gcj02_tiles_are_shifted_to_match_amap(open_client, facts):
    """On an AMap/Tencent basemap the grids move ~0.5 km with it; the stored data does not."""
    from geo.offsets import convert

    lon, lat = facts.inside
    gx, gy = convert(lon, lat, "wgs84", "gcj02")
    z = 16
    x, y = _tile(float(gx), float(gy), z)
    r = open_client.get(f"/tiles/grids/{z}/{x}/{y}.pbf", params={"coordsys": "gcj02"})
    assert r.status_code == 200
    shifted = mapbox_vector_tile.decode(r.content)["grids"]["features"]
    assert facts.grid_code in {f["properties"]["code"] for f in shifted}
    plain = open_client.get(f"/tiles/grids/{z}/{x}/{y}.pbf")
    if plain.status_code == 200:
        assert plain.content != r.content
    assert open_client.get("/tiles/grids/16/0/0.pbf?coordsys=mars").status_code == 422
