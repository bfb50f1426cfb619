"""The map pages still draw in Chromium with the Content-Security-Policy on: the planner map,
/find and /map, with no CSP violation in the console (issue 7, item 5)."""

from __future__ import annotations

import pytest

from tests.conftest import serving
from tests.planning.conftest import PASSWORD, World

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: (
            seen.append(msg.text)
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
            else None
        ),
    )
    return seen


def test_planner_find_and_district_maps_draw_under_the_csp(world: World, chromium):
    with serving(world.url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
        page = chromium.new_page(viewport={"width": 1200, "height": 800})
        violations = _watch(page)
        response = page.goto(f"{base}/find")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_selector(".leaflet-container")
        page.goto(f"{base}/map")
        page.wait_for_selector(".leaflet-container")
        page.wait_for_function(
            "document.querySelectorAll('.leaflet-tile-container canvas, "
            ".leaflet-tile-container svg, .leaflet-overlay-pane path').length > 0",
            timeout=20_000,
        )
        page.goto(f"{base}/plan/{world.home}")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/plan/{world.home}")
        page.wait_for_selector(".leaflet-overlay-pane path", timeout=20_000)
        assert page.locator(".leaflet-overlay-pane path").count() > 0
        page.close()
    assert violations == []
