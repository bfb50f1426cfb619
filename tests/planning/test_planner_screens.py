"""A planner's screens in Chromium at phone and desktop size: the draft with feedback while the
engine runs, staffing by picking, the warning before publishing a grid without a full-time
worker, the published plan shown after publishing, versions with who/when/why, an archived
version read-only with "以此为基础新建草稿", and a rollback with its reason. Screenshots are taken
in the run; no console error or failed request is allowed."""

from __future__ import annotations

import pytest

from tests.conftest import serving, wait_until
from tests.planning.conftest import PASSWORD, World
from tests.screens import SIZES, watched

pytestmark = pytest.mark.browser


def _open_panel(page, size: str) -> None:
    """Wait for the panel's script, and on a phone open the drawer."""
    wait_until(page, "() => !!window.wanggePlanner", 30)
    if size == "phone":
        assert page.get_attribute("#wg-panel", "data-open") == "false", "a closed drawer"
        page.click("#wg-drawer")
        assert page.get_attribute("#wg-panel", "data-open") == "true"


@pytest.mark.parametrize("size", SIZES)
def test_draft_staff_publish_versions_rollback(world: World, chromium, size) -> None:
    api = world.clients["planner"]
    with (
        serving(world.url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base,
        watched(chromium, size) as w,
    ):
        page = w.page
        dialogs: list[str] = []

        def answer(dialog) -> None:
            dialogs.append(dialog.message)
            if dialog.type == "prompt":
                dialog.accept("恢复上一版以核对住户")
            else:
                dialog.accept()

        page.on("dialog", answer)
        page.goto(f"{base}/login?next=/plan/{world.home}")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/plan/{world.home}")
        _open_panel(page, size)
        assert "已发布" in page.inner_text("#wg-plan-status")
        assert page.locator("#wg-moved-note").count() == 0, "the orange note is for drafts"
        numbers = page.locator("#wg-tallies tbody tr").evaluate_all(
            "rows => rows.map(r => Number(r.dataset.number))"
        )
        assert numbers == sorted(numbers), "grids in numeric order"

        with page.expect_navigation():
            page.click("#wg-start")
        _open_panel(page, size)
        assert "草稿" in page.inner_text("#wg-plan-status")
        assert page.locator("#wg-moved-note").count() == 1
        with page.expect_navigation(timeout=120_000):
            page.click("#wg-rebalance")
            feedback = page.evaluate(
                """() => ({disabled: document.getElementById('wg-rebalance').disabled
                             && document.getElementById('wg-divide').disabled,
                           spinner: !document.getElementById('wg-spinner').hidden,
                           text: document.getElementById('wg-spinner').innerText})"""
            )
            assert feedback["disabled"] and feedback["spinner"], feedback
            assert "自动调整" in feedback["text"]
        _open_panel(page, size)
        plan = page.evaluate("wanggePlanner.opts.plan")
        grids = page.evaluate("wanggePlanner.opts.grids.map(g => g.number)")
        assert len(page.locator("#wg-posts tbody tr").all()) == len(grids)
        w.shot("planner-draft")

        # Leave one grid without a full-time worker, through the API like another planner.
        number = grids[0]
        posts = page.evaluate(f"wanggePlanner.opts.posts['{number}']")
        chief = next(p for p in posts if p["role"] == "grid_chief")
        r = api.put(
            f"/api/v1/communities/{world.home}/plans/{plan['id']}/grids/{number}/staff",
            json={
                "posts": [{"staff_id": chief["staff_id"], "role": "grid_chief"}],
                "revision": plan["revision"],
            },
        )
        assert r.status_code == 204, r.text
        page.reload()
        _open_panel(page, size)
        assert f"第{number}网格缺专职网格员" in page.inner_text("#wg-unstaffed")

        # Staff it again by picking in the editor.
        staff = page.evaluate("wanggePlanner.opts.staff")
        worker = next(s for s in staff if s["role"] == "full_time_worker")
        page.click(f"#wg-posts tr[data-number='{number}'] .wg-edit-posts")
        page.select_option("#wg-post-editor select[data-role=full_time_worker]", str(worker["id"]))
        w.shot("planner-staffing")
        with page.expect_navigation():
            page.click("#wg-save-posts")
        _open_panel(page, size)
        missing = page.locator("#wg-unstaffed")
        assert missing.count() == 0 or f"第{number}网格缺" not in missing.inner_text()

        # Take the worker away again and publish: the planner is warned first.
        plan = page.evaluate("wanggePlanner.opts.plan")
        api.put(
            f"/api/v1/communities/{world.home}/plans/{plan['id']}/grids/{number}/staff",
            json={
                "posts": [{"staff_id": chief["staff_id"], "role": "grid_chief"}],
                "revision": plan["revision"],
            },
        )
        page.reload()
        _open_panel(page, size)
        page.fill("#wg-reason", "按新入住户数调整")
        with page.expect_navigation():
            page.click("#wg-publish")
        assert any(f"第{number}网格" in d and "仍要发布" in d for d in dialogs), dialogs
        _open_panel(page, size)
        assert "已发布" in page.inner_text("#wg-plan-status")
        assert f"已发布第 {plan['version']} 版" in page.inner_text("#wg-msg")
        assert page.locator("#wg-rebalance").count() == 0, "no draft buttons on the published"
        versions = page.locator("#wg-versions li")
        assert versions.count() == 2
        newest = versions.first.inner_text()
        assert "planner" in newest and "按新入住户数调整" in newest, newest
        w.shot("planner-published")

        # The archived version: read-only, offers a new draft from it; then roll back to it.
        with page.expect_navigation():
            versions.nth(1).locator("a").click()
        _open_panel(page, size)
        assert "已归档" in page.inner_text("#wg-plan-status")
        assert page.locator("#wg-start-from").inner_text() == "以此为基础新建草稿"
        assert page.locator("#wg-publish, #wg-rebalance, .wg-edit-posts").count() == 0
        w.shot("planner-archived")
        with page.expect_navigation():
            page.locator(".wg-rollback").first.click()
        _open_panel(page, size)
        assert "已发布" in page.inner_text("#wg-plan-status")
        assert "恢复上一版以核对住户" in page.locator("#wg-versions li").first.inner_text()
        w.assert_clean()
