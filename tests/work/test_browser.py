"""The whole loop in Debian's Chromium: a resident on a phone-sized page taps the map inside a
grid and reports → that grid's worker sees it on their phone page, accepts and closes it with
a result → the resident's tracking page shows the result, and 不满意 reopens it to the
community. No console error and no failed request on any page."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import serving, wait_until
from tests.work.conftest import QUIET_ENV, answer, log_in, make_work, quiet_settings

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _watch(page, problems: list[str]) -> None:
    page.on(
        "console",
        lambda m: m.type == "error" and problems.append(f"console: {m.text} {m.location}"),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"),
    )


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _tap(page, lon: float, lat: float) -> None:
    """Tap the report map at (lon, lat) as a finger would."""
    page.evaluate(
        "([lon, lat]) => document.getElementById('r-form').wgMap.setView([lat, lon], 17)",
        [lon, lat],
    )
    page.wait_for_timeout(300)
    x, y = page.evaluate(
        "([lon, lat]) => { const m = document.getElementById('r-form').wgMap;"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        [lon, lat],
    )
    page.mouse.click(x, y)


def test_resident_reports_worker_closes_resident_rates(isolated_url: str, chromium, tmp_path):
    work = make_work(isolated_url, quiet_settings())
    problems: list[str] = []
    with serving(work.url, **QUIET_ENV) as base:
        resident = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = resident.new_page()
        _watch(page, problems)
        page.goto(f"{base}/report")
        wait_until(page, "document.getElementById('r-token').value !== ''")
        _tap(page, *work.in_a)
        wait_until(page, "document.body.dataset.routed === '1'")
        assert work.a[-3:].lstrip("0") in page.inner_text("#r-where")
        page.select_option("#r-category", "设施报修")
        page.fill("#r-text", "3栋门口路灯不亮<b>已两周</b>")
        page.fill("#r-phone", "13800009999")
        page.set_input_files(
            "#r-photos", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": _png()}]
        )
        assert page.inner_text(".w-files") == "已选择 1 张照片"
        page.fill("#r-answer", str(answer(page.inner_text("#r-question").split("：")[1])))
        page.screenshot(path=tmp_path / "report.png", full_page=True)
        page.click("#r-submit")
        page.wait_for_url(f"{base}/r/*")
        code = page.inner_text("#t-code")
        assert page.inner_text("#t-state") == "已派单"
        assert "<b>已两周</b>" in page.inner_text("#t-text")

        worker = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        wpage = worker.new_page()
        _watch(wpage, problems)
        log_in(wpage, f"{base}/work", "worker_a")
        item = wpage.locator(f"li.w-item[data-code='{code}']")
        assert item.count() == 1
        assert "13800009999" not in wpage.content()  # the inbox shows no phone
        wpage.screenshot(path=tmp_path / "inbox.png", full_page=True)
        with wpage.expect_navigation():  # the page reloads once the API answers
            item.locator("button.w-accept").click()
        assert wpage.locator(f"li[data-code='{code}'] button.w-accept").count() == 0
        wpage.goto(f"{base}/work/r/{code}")
        assert wpage.inner_text("#d-state") == "已接单"
        assert wpage.inner_text("#d-phone") == "13800009999"  # the assignee may call back
        wait_until(wpage, "document.querySelector('img.w-photo').naturalWidth === 40")
        wpage.fill("#c-result", "已更换灯泡，路灯恢复照明")
        with wpage.expect_navigation():
            wpage.click("#a-close")
        assert wpage.get_attribute("#d-state", "data-state") == "closed"
        wpage.screenshot(path=tmp_path / "closed.png", full_page=True)

        page.goto(f"{base}/r/{code}")
        assert page.inner_text("#t-state") == "已办结"
        assert page.inner_text("#t-result") == "已更换灯泡，路灯恢复照明"
        page.screenshot(path=tmp_path / "tracking.png", full_page=True)
        page.click("#t-rate-unsatisfied")
        page.wait_for_url(f"{base}/r/{code}")
        assert page.inner_text("#t-state") == "待受理"
        assert "您不满意，已转社区重新办理" in page.inner_text("#t-steps")
        assert page.locator("#t-rate").count() == 0

        wpage.goto(f"{base}/work")
        assert wpage.locator(f"li.w-item[data-code='{code}']").count() == 0
    print("screenshots in", tmp_path)
    assert problems == []
