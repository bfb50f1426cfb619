"""Every page still works in Chromium under the Content-Security-Policy, which allows inline
scripts only with the response's nonce (issue 7, item 5; issue 13, item 2): no CSP violation in
the console on /, /find, /g/{code}, the signboard, /map, /login, /plan, /plan/{c}, its import
page and the street page."""

from __future__ import annotations

import pytest

from tests.conftest import serving, wait_until
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
        grid, street = world.sql(
            "SELECT g.code, c.street_code FROM grid g JOIN grid_plan p ON p.id = g.plan_id "
            "JOIN community c ON c.code = p.community_code "
            "WHERE p.status = 'published' AND c.code = :c LIMIT 1",
            c=world.home,
        )[0]
        page.goto(f"{base}/")  # the front door: /find
        page.wait_for_selector("#wg-q")
        page.goto(f"{base}/g/{grid}")
        wait_until(page, "code => document.body.getAttribute('data-grid') === code", 30, grid)
        page.goto(f"{base}/g/{grid}/signboard")
        page.wait_for_selector("#staff")
        page.goto(f"{base}/plan/{world.home}")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/plan/{world.home}")
        page.wait_for_selector(".leaflet-overlay-pane path", timeout=20_000)
        assert page.locator(".leaflet-overlay-pane path").count() > 0
        wait_until(page, "() => window.wanggePlanner !== undefined")  # the nonce'd script ran
        page.goto(f"{base}/plan")
        page.wait_for_selector("#communities")
        page.goto(f"{base}/plan/{world.home}/import")
        page.wait_for_selector("#wg-import")
        # the page's script is a file now: submitting without a file gets the API's refusal
        page.evaluate("() => document.getElementById('wg-file').removeAttribute('required')")
        page.click("#wg-import button[type=submit]")
        page.wait_for_selector("#wg-result p.error")
        page.goto(f"{base}/plan/street/{street}")
        page.wait_for_selector("#wg-communities")
        page.wait_for_selector(".leaflet-overlay-pane path", timeout=20_000)
        page.close()
    assert violations == []
