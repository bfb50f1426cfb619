"""Screens everyone meets, in Chromium at phone and desktop size: the API documentation served
by the app itself with working "Authorize", the favicon, and where each role lands after
logging in with only the links it may use."""

from __future__ import annotations

import pytest

from tests.conftest import serving
from tests.planning.conftest import PASSWORD, World
from tests.screens import SIZES, watched

pytestmark = pytest.mark.browser


def test_openapi_declares_how_to_log_in(world: World):
    doc = world.clients["anonymous"].get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["token"]["description"],
    }
    assert schemes["session"]["type"] == "apiKey" and schemes["session"]["in"] == "cookie"
    plans = doc["paths"]["/api/v1/communities/{code}/plans"]["get"]
    assert {"token": []} in plans["security"]
    favicon = world.clients["anonymous"].get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("size", SIZES)
def test_docs_draw_from_the_app_and_authorize_works(world: World, chromium, size):
    with serving(world.url) as base, watched(chromium, size) as w:
        outside: list[str] = []
        w.page.on("request", lambda r: outside.append(r.url) if base not in r.url else None)
        w.page.goto(base + "/docs")
        w.page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "网格 Wangge" in w.page.inner_text(".swagger-ui .info .title")
        w.page.click(".swagger-ui .btn.authorize")
        dialog = w.page.locator(".swagger-ui .dialog-ux .modal-ux")
        dialog.wait_for()
        assert "token" in dialog.inner_text() and "session" in dialog.inner_text()
        token = world.clients["planner"].headers["Authorization"].split()[1]
        dialog.locator("input").first.fill(token)
        dialog.locator("button.authorize").first.click()
        w.page.click(".swagger-ui .btn-done")
        w.shot("docs")
        # "Try it out" on /auth/me with the token: the answer names the planner.
        w.page.click("#operations-auth-me_api_v1_auth_me_get .opblock-summary")
        w.page.click("#operations-auth-me_api_v1_auth_me_get .try-out__btn")
        w.page.click("#operations-auth-me_api_v1_auth_me_get .execute")
        live = w.page.locator(
            "#operations-auth-me_api_v1_auth_me_get .live-responses-table tbody",
            has_text='"username": "planner"',
        )
        live.first.wait_for(timeout=30_000)  # the answer to the authorised call
        w.assert_clean()
        assert outside == [], f"fetched from outside: {outside[:3]}"


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("size", SIZES)
def test_each_role_lands_where_it_works_with_its_links(world: World, chromium, size):
    with serving(world.url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
        with watched(chromium, size) as w:
            _login(w.page, base, "worker")
            assert "/g/" in w.page.url, "a grid worker lands on their grid's public page"
            code = w.page.url.rsplit("/", 1)[1]
            w.page.wait_for_selector("#wg-staff")
            links = w.page.locator("#wg-staff-links a")
            assert links.all_inner_texts() == ["本网格住户名单"]
            w.shot("worker-landing")
            href = links.first.get_attribute("href")
            assert href.endswith(f"households?grid={code}")
            listed = w.page.request.get(base + href)
            assert listed.status == 200 and len(listed.json()) > 0
            w.page.goto(f"{base}/plan/{world.home}")
            assert w.page.locator("text=导入数据").count() == 0, "no import link for a worker"
            w.assert_clean()
        with watched(chromium, size) as w:
            _login(w.page, base, "planner")
            assert w.page.url.endswith("/plan")
            w.page.goto(f"{base}/g/{code}")
            w.page.wait_for_selector("#wg-staff")
            texts = w.page.locator("#wg-staff-links a").all_inner_texts()
            assert texts == ["本网格住户名单", "网格规划"]
            w.assert_clean()
        with watched(chromium, size) as w:
            w.page.goto(f"{base}/g/{code}")
            w.page.wait_for_selector("#wg-staff")
            assert w.page.locator("#wg-staff-links").count() == 0, "no staff links for residents"
            w.assert_clean()


@pytest.mark.parametrize("size", SIZES)
def test_street_map_has_a_metric_scale_and_no_flag(world: World, chromium, size):
    [(street,)] = world.sql("SELECT street_code FROM community WHERE code = :c", c=world.home)
    with serving(world.url) as base, watched(chromium, size) as w:
        _login(w.page, base, "street")
        w.page.goto(f"{base}/plan/street/{street}")
        w.page.wait_for_function(  # the bar is labelled once the map has its final view
            "document.querySelector('.leaflet-control-scale-line')?.textContent.endsWith('m')"
        )
        texts = w.page.locator(".leaflet-control-scale-line").all_inner_texts()
        assert len(texts) == 1, f"one metric bar, no feet or miles: {texts}"
        attribution = w.page.locator(".leaflet-control-attribution")
        assert attribution.locator("svg").count() == 0, "no flag in the attribution"
        assert w.page.locator("path.leaflet-interactive").count() > 0, "the grids are drawn"
        w.shot("street-map")
        w.assert_clean()
