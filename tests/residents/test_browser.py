"""The residents' page in Debian's Chromium against a real uvicorn server: search an address,
tap the map, see the right worker; and the district map draws its grids."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import serving, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with serving(database_url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
        yield base


@pytest.fixture
def browser(chromium):
    return chromium


def _external_requests(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda req: (
            seen.append(req.url) if not req.url.startswith(("http://127.0.0.1", "data:")) else None
        ),
    )
    return seen


def test_search_an_address_then_tap_the_map(server, browser, facts, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 800}, locale="zh-CN")
    outside = _external_requests(page)
    page.goto(server + "/find")
    page.fill("#wg-q", f"{facts.road}{facts.door_number}")
    page.click("#wg-go")
    page.wait_for_selector("#wg-staff")
    assert page.get_attribute("body", "data-grid") == facts.building_grid
    card = page.inner_text("#wg-card")
    assert "网格长" in card and "tel:" in page.inner_html("#wg-card")
    page.screenshot(path=str(tmp_path / "search.png"))

    # Tap the map at a point inside the first grid: the card changes to that grid's workers.
    lon, lat = facts.inside
    point = page.evaluate(
        """([lat, lon]) => { const m = window[Object.keys(window).find(
             k => k.startsWith('map_') && window[k] instanceof L.Map)];
           m.setView([lat, lon], 17, {animate: false});
           m.panBy([0, 220], {animate: false});  // above the result card at the bottom
           const p = m.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""",
        [lat, lon],
    )
    assert 60 < point[1] < 300, point
    page.mouse.click(point[0], point[1])
    wait_until(
        page, "code => document.body.getAttribute('data-grid') === code", 10, facts.grid_code
    )
    expected = httpx.get(f"{server}/api/v1/lookup/grids/{facts.grid_code}").json()
    chief = next(s for s in expected["staff"] if s["role"] == "grid_chief")
    assert chief["name"] in page.inner_text("#wg-card")
    page.screenshot(path=str(tmp_path / "tap.png"))
    assert outside == [], f"the page fetched from outside: {outside[:3]}"
    page.close()


def test_grid_page_from_qr_and_district_map(server, browser, facts):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{server}/g/{facts.grid_code}")
    wait_until(
        page, "code => document.body.getAttribute('data-grid') === code", 30, facts.grid_code
    )
    page.goto(server + "/map")
    wait_until(page, "() => window.wanggeTilesLoaded === true", 15)
    assert page.locator("canvas").count() + page.locator("svg path").count() > 0
    page.close()
