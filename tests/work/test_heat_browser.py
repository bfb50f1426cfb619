"""The requests' heat layer on the planner's map, in Debian's Chromium at phone and desktop
size: a community planner turns it on and sees the circles where residents reported; the
public map has nothing of it. No console error and no failed request on any page."""

from __future__ import annotations

import json

import httpx
import pytest

from maps.planner import HEAT_NAME
from tests.conftest import serving, wait_until
from tests.work.conftest import QUIET_ENV, answer, log_in, make_work, quiet_settings
from tests.work.test_browser import PHONE, _watch

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 800}


def _report(base: str, point: tuple[float, float]) -> None:
    with httpx.Client(base_url=base) as client:
        check = client.get("/api/v1/requests/check").json()
        response = client.post(
            "/api/v1/requests",
            data={
                "category": "环境卫生",
                "text": "垃圾堆放无人清理",
                "lon": str(point[0]),
                "lat": str(point[1]),
                "check_token": check["token"],
                "check_answer": str(answer(check["question"])),
            },
        )
        assert response.status_code == 201, response.text


def test_the_planner_turns_on_the_heat_layer_the_public_never_sees_it(
    isolated_url: str, chromium, tmp_path
) -> None:
    work = make_work(isolated_url, quiet_settings())
    problems: list[str] = []
    with serving(work.url, **QUIET_ENV) as base:
        for point in (work.in_a, work.in_a, work.in_b, work.border):
            _report(base, point)
        for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            context = chromium.new_context(viewport=size, is_mobile=name == "phone")
            page = context.new_page()
            _watch(page, problems)
            log_in(page, f"{base}/plan/{work.community}", "dispatcher")
            wait_until(page, "document.querySelector('.leaflet-control-layers') !== null")
            assert page.locator("path.wg-heat").count() == 0  # off until turned on
            page.locator(".leaflet-control-layers").hover()
            page.get_by_text(HEAT_NAME).click()
            wait_until(page, "document.querySelectorAll('path.wg-heat').length >= 2")
            # the first view's zoom animation over, so the screenshot shows where they are
            wait_until(page, "document.querySelector('.leaflet-zoom-anim') === null")
            page.wait_for_timeout(500)
            page.screenshot(path=tmp_path / f"planner_heat_{name}.png")
            context.close()

            public = chromium.new_context(viewport=size, is_mobile=name == "phone")
            ppage = public.new_page()
            _watch(ppage, problems)
            seen: list[str] = []
            ppage.on("request", lambda r, seen=seen: seen.append(r.url))
            ppage.goto(f"{base}/map")
            wait_until(ppage, "document.querySelector('.leaflet-container') !== null")
            ppage.wait_for_timeout(500)
            assert ppage.locator("path.wg-heat").count() == 0
            assert json.dumps(HEAT_NAME) not in ppage.content()
            assert not [u for u in seen if "/requests" in u]
            ppage.screenshot(path=tmp_path / f"public_{name}.png")
            public.close()
    print("screenshots in", tmp_path)
    assert problems == []
