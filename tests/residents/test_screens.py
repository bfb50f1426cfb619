"""The residents' screens as a person uses them, on a phone (390×844) and a desktop (1366×900):
a readable offline basemap, the result card framing the grid, messages in Chinese, a grid page
titled with its grid. Screenshots are taken in the run (``tests/screens.py``); no console error
or failed request is allowed, the favicon included."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from data.queries.lookup import distance_zh
from tests.conftest import serving, wait_until
from tests.screens import SIZES, watched

pytestmark = pytest.mark.browser

MAP = """Object.values(window).find(v => v instanceof L.Map)"""

WIDGETS = ("jquery", "bootstrap", "fontawesome", "awesome-markers")
"""Folium's default widget assets (``maps.assets.WIDGETS``), which the public pages do not use
and must not load: six files that held back a first visit's first tile."""


def _no_widgets(w) -> None:
    loaded = [url for url in w.requested for name in WIDGETS if f"/static/vendor/{name}/" in url]
    assert loaded == [], "the public pages draw with Leaflet alone"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with serving(database_url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
        yield base


def _basemap_drawn(page) -> None:
    wait_until(
        page,
        "() => document.querySelector('.folium-map').getAttribute('data-basemap') === 'loaded'"
        " && Number(document.querySelector('.folium-map').getAttribute('data-labels')) > 0",
        30,
    )


@pytest.mark.parametrize("size", SIZES)
def test_find_opens_on_a_readable_offline_map(server, chromium, size):
    with watched(chromium, size) as w:
        outside: list[str] = []
        w.page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)
        w.page.goto(server + "/find")
        _basemap_drawn(w.page)
        state = w.page.evaluate(
            f"""() => {{ const m = {MAP};
              return {{zoom: m.getZoom(),
                zoomButtons: document.querySelectorAll('.leaflet-control-zoom a').length,
                scales: document.querySelectorAll('.leaflet-control-scale-line').length,
                scale: document.querySelector('.leaflet-control-scale-line').textContent,
                attribution: document.querySelector('.leaflet-control-attribution').innerHTML,
                roads: Array.from(document.querySelectorAll('.wg-lbl-road span'))
                  .map(s => s.textContent)}}; }}"""
        )
        assert state["zoom"] >= 15, "opens where streets are legible"
        assert state["zoomButtons"] == 2
        assert state["scales"] == 1 and state["scale"].endswith("m"), "metric scale bar only"
        assert "<svg" not in state["attribution"] and "🇺🇦" not in state["attribution"]
        assert "网格 Wangge" in state["attribution"]
        assert len(state["roads"]) >= 3, "road names are written on the map"
        w.shot("find-basemap")
        w.assert_clean()
        _no_widgets(w)
        assert outside == [], "the basemap needs no internet"


def _card_and_outline(page) -> dict:
    return page.evaluate(
        f"""() => {{ const m = {MAP}; const card = document.getElementById('wg-card')
              .getBoundingClientRect();
            const found = window.Wangge.found;
            const b = found && m.hasLayer(found) && found.getBounds();
            const nw = b && m.latLngToContainerPoint(b.getNorthWest());
            const se = b && m.latLngToContainerPoint(b.getSouthEast());
            const size = m.getSize();
            return {{card: [card.left, card.top, card.right, card.bottom],
              outline: b ? [nw.x, nw.y, se.x, se.y] : null, map: [size.x, size.y],
              title: document.getElementById('wg-card-title').innerText}}; }}"""
    )


@pytest.mark.parametrize("size", SIZES)
def test_the_card_frames_the_grid_and_a_failed_search_clears_it(server, chromium, facts, size):
    with watched(chromium, size) as w:
        w.expect = [r"/api/v1/lookup\?.*q=.*999"]  # the address that does not exist: a 404
        page = w.page
        page.goto(server + "/find")
        page.fill("#wg-q", f"{facts.road}{facts.door_number}")
        page.click("#wg-go")
        page.wait_for_selector("#wg-staff")
        assert page.get_attribute("body", "data-grid") == facts.building_grid
        got = _card_and_outline(page)
        x0, y0, x1, y1 = got["outline"]
        _, cy0, cx1, cy1 = got["card"]
        width, height = got["map"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, "the grid is in view"
        if size == "phone":
            assert cy1 - cy0 <= SIZES["phone"]["height"] / 3 + 1, "card at most a third"
            assert y1 <= cy0 + 1, "the grid is framed above the card"
        else:
            assert x0 >= cx1 - 1, "the grid is framed beside the card"
        parts = got["title"].split(" · ")
        assert len(parts) == len(set(parts)), f"no repeated name: {got['title']}"
        w.shot("find-result")

        page.click("#wg-card-toggle")
        assert page.is_hidden("#wg-card-body")
        assert page.evaluate("document.getElementById('wg-card').offsetHeight") < 80
        page.click("#wg-card-toggle")
        assert page.is_visible("#wg-staff")

        page.fill("#wg-q", f"{facts.road}999号")
        page.click("#wg-go")
        page.wait_for_selector("#wg-error")
        assert f"{facts.road}没有999号" in page.inner_text("#wg-error")
        assert page.get_attribute("body", "data-grid") == ""
        assert _card_and_outline(page)["outline"] is None, "the old highlight is cleared"
        suggestions = page.locator("#wg-suggestions button")
        assert suggestions.count() >= 1
        w.shot("find-no-such-number")
        suggestions.first.click()
        page.wait_for_selector("#wg-staff")
        assert page.get_attribute("body", "data-grid")
        w.assert_clean()


@pytest.mark.parametrize("size", SIZES)
def test_grid_page_is_titled_and_a_bad_code_is_a_chinese_404(server, chromium, facts, size):
    card = httpx.get(f"{server}/api/v1/lookup/grids/{facts.grid_code}").json()
    with watched(chromium, size) as w:
        w.page.goto(f"{server}/g/{facts.grid_code}")
        wait_until(
            w.page, "c => document.body.getAttribute('data-grid') === c", 30, facts.grid_code
        )
        title = w.page.title()
        assert f"第{card['grid']['number']}网格" in title
        assert card["grid"]["community"]["name"] in title
        _basemap_drawn(w.page)
        w.shot("grid-page")
        _no_widgets(w)
        w.expect = [r"/g/abc$"]
        response = w.page.goto(f"{server}/g/abc")
        assert response.status == 404
        text = w.page.inner_text("body")
        assert "没有找到该网格" in text and "detail" not in text and "{" not in text
        w.shot("grid-page-404")
        w.assert_clean()


# Where a point is on the screen once the map is centred on it (the map zoomed to 17).
SCREEN_POINT = f"""([lat, lon]) => {{ const m = {MAP};
  m.setView([lat, lon], 17, {{animate: false}});
  const p = m.latLngToContainerPoint([lat, lon]);
  const box = m.getContainer().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y]; }}"""

# Per overlay tile drawn: the layers its paths come in, and whether each takes clicks.
OVERLAY_PATHS = """() => Array.from(document.querySelectorAll('.wg-overlay svg'))
  .map(svg => Array.from(svg.querySelectorAll('path')).map(p => [
    p.classList.contains('wg-outline') ? 'outline' : 'grid',
    getComputedStyle(p).pointerEvents !== 'none']))
  .filter(paths => paths.length)"""


@pytest.mark.parametrize("size", SIZES)
def test_district_map_on_the_basemap(server, chromium, facts, size):
    """The streets, communities and grids come in one tile per map tile; the grids are drawn
    last, on top, and only they take clicks: clicking one opens its popup."""
    card = httpx.get(f"{server}/api/v1/lookup/grids/{facts.grid_code}").json()
    with watched(chromium, size) as w:
        tiles: list[str] = []
        w.page.on("request", lambda r: tiles.append(r.url) if r.url.endswith(".pbf") else None)
        w.page.goto(server + "/map")
        wait_until(w.page, "() => window.wanggeTilesLoaded === true", 30)
        _basemap_drawn(w.page)
        w.shot("district-map")
        overlay = [url for url in tiles if "/tiles/basemap/" not in url]
        assert overlay and all("/overlay/" in url for url in overlay), overlay
        drawn = w.page.evaluate(OVERLAY_PATHS)
        assert any(paths[0][0] == "outline" for paths in drawn), "outlines under the grids"
        for paths in drawn:
            kinds = [kind for kind, _ in paths]
            assert kinds == sorted(kinds, key=lambda k: k == "grid"), "grids last, on top"
            assert all(clickable == (kind == "grid") for kind, clickable in paths)

        w.page.evaluate("() => { window.wanggeTilesLoaded = false; }")
        x, y = w.page.evaluate(SCREEN_POINT, [facts.inside[1], facts.inside[0]])
        wait_until(w.page, "() => window.wanggeTilesLoaded === true", 30)
        w.page.mouse.click(x, y)
        popup = w.page.wait_for_selector(".leaflet-popup-content")
        assert f"第{card['grid']['number']}网格" in popup.inner_text()
        link = popup.query_selector("a")
        assert link.get_attribute("href") == f"/g/{facts.grid_code}"
        assert link.inner_text() == "公示页"
        w.page.wait_for_load_state("networkidle")  # the basemap at the new zoom, for the shot
        w.shot("district-map-popup")
        w.assert_clean()
        _no_widgets(w)


def test_distances_past_a_kilometre_are_in_km(open_client):
    assert distance_zh(850) == "约 850 米"
    assert distance_zh(21540) == "约 21.5 公里"
    far = open_client.get("/api/v1/lookup", params={"lon": 109.6, "lat": 27.4})
    assert far.status_code == 404
    assert "公里" in far.json()["detail"] and "(" not in far.json()["detail"]


def test_messages_carry_no_english(open_client):
    for params in ({"q": ""}, {"lon": 27.7, "lat": 109.2}, {"q": "x" * 101}):
        detail = open_client.get("/api/v1/lookup", params=params).json()["detail"]
        letters = detail.replace("lon", "").replace("lat", "")
        assert not any("a" <= c.lower() <= "z" for c in letters), detail
