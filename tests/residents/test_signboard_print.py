"""The signboard as printed: its QR code reaches the public site (or it is not printed), its map
shows the grid large with readable, non-overlapping labels and valid SVG, and it fills the A4
page (checked on the PDF rendered to an image)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from data.settings import Settings
from tests.conftest import serving
from tests.screens import SHOTS, SIZES, watched

PUBLIC = "https://wangge.example.cn"


@pytest.fixture(scope="module")
def production(database_url: str) -> Iterator[TestClient]:
    settings = Settings(env="production", lookup_rate_per_minute=0)
    with TestClient(create_app(settings, database_url=database_url)) as client:
        yield client


@pytest.fixture(scope="module")
def published(database_url: str) -> Iterator[TestClient]:
    settings = Settings(env="production", public_base_url=PUBLIC, lookup_rate_per_minute=0)
    with TestClient(create_app(settings, database_url=database_url)) as client:
        yield client


def test_without_the_public_address_production_refuses_to_print(production, facts):
    for path in ("signboard", "signboard.pdf"):
        r = production.get(f"/g/{facts.grid_code}/{path}")
        assert r.status_code == 503
        assert "WANGGE_PUBLIC_BASE_URL" in r.text and "公示牌暂不能打印" in r.text


def test_the_qr_code_reaches_the_public_site(published, facts):
    html = published.get(f"/g/{facts.grid_code}/signboard").text
    url = f"{PUBLIC}/g/{facts.grid_code}"
    assert f'<div class="url">{url}</div>' in html, "the public URL in small print"
    assert "dev-url" not in html


def _map_paths(html: str) -> list[str]:
    """The path data of the board's map (not the QR code's)."""
    start = html.index('class="wg-map"')
    return re.findall(r'<path d="([^"]*)"', html[start : html.index("</svg>", start)])


def test_every_map_path_is_valid(open_client, facts):
    html = open_client.get(f"/g/{facts.grid_code}/signboard").text
    number = r"-?\d+(\.\d+)?"
    point = rf"{number},{number}"
    valid = re.compile(rf"^(M{point}( L{point})*( Z)?|M{point} h4|M0,-22 L9,10 L0,4 L-9,10 Z)$")
    paths = _map_paths(html)
    assert len(paths) > 3
    for d in paths:
        for part in re.split(r" (?=M)", d):
            assert valid.match(part), f"broken path data: {part[:60]}"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with serving(database_url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
        yield base


@pytest.mark.browser
@pytest.mark.parametrize("size", SIZES)
def test_the_board_in_a_browser_has_no_errors_and_no_overlapping_labels(
    server, chromium, facts, size
):
    with watched(chromium, size) as w:
        w.page.goto(f"{server}/g/{facts.grid_code}/signboard")
        boxes = w.page.evaluate(
            """() => Array.from(document.querySelectorAll('.map svg g.wg-label text:last-child'))
                 .map(t => { const b = t.getBBox(); return [t.textContent, b.x, b.y,
                   b.x + b.width, b.y + b.height]; })"""
        )
        grid_box = w.page.evaluate(
            """() => { const r = document.querySelector('.map').getBoundingClientRect();
                 return [r.width, r.height]; }"""
        )
        w.shot("signboard")
        w.assert_clean()
    assert any(t.startswith("第") and t.endswith("网格") for t, *_ in boxes)
    for i, (a, *ra) in enumerate(boxes):
        for b, *rb in boxes[i + 1 :]:
            overlap = ra[0] < rb[2] and rb[0] < ra[2] and ra[1] < rb[3] and rb[1] < ra[3]
            assert not overlap, f"labels {a!r} and {b!r} overlap"
    assert grid_box[1] > 200, "the map takes a good part of the page"


def _gray(pgm: Path) -> tuple[int, int, bytes]:
    data = pgm.read_bytes()
    header = data.split(b"\n", 3)
    width, height = map(int, header[1].split())
    return width, height, header[3]


def test_the_pdf_fills_one_a4_page_with_the_grid_large(open_client, facts, tmp_path):
    r = open_client.get(f"/g/{facts.grid_code}/signboard.pdf")
    assert r.status_code == 200, r.text
    pdf = tmp_path / "signboard.pdf"
    pdf.write_bytes(r.content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+1\n", info.stdout) and "(A4)" in info.stdout
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf), str(SHOTS / "signboard-pdf")],
        check=True,
    )
    subprocess.run(
        ["pdftoppm", "-r", "30", "-gray", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    width, height, pixels = _gray(tmp_path / "page.pgm")
    inked = [
        y for y in range(height) if min(pixels[y * width : (y + 1) * width]) < 200
    ]  # rows with something printed
    assert inked[0] < 0.1 * height and inked[-1] > 0.88 * height, "the page is filled"
