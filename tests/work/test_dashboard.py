"""Dashboards and the heat map: per street, community and grid, requests by state and
category, on-time rate, mean time to close and satisfaction; the heat map for planners only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.work.conftest import Work

T0 = datetime.now(UTC) - timedelta(days=10)


def test_dashboard_counts_and_rates(work: Work) -> None:
    work.app.state.clock = lambda: T0
    on_time = work.report(work.in_a, category="安全隐患").json()["code"]  # 24 h
    late = work.report(work.in_a, category="安全隐患").json()["code"]
    work.report(work.in_b, category="政策咨询")
    worker = work.clients["worker_a"]
    for code in (on_time, late):
        worker.post(f"/api/v1/requests/{code}/accept")
    work.app.state.clock = lambda: T0 + timedelta(hours=2)
    worker.post(f"/api/v1/requests/{on_time}/close", data={"result": "已处理"})
    work.app.state.clock = lambda: T0 + timedelta(hours=30)
    worker.post(f"/api/v1/requests/{late}/close", data={"result": "已处理"})
    work.clients["anonymous"].post(
        f"/api/v1/requests/track/{on_time}/rating", json={"rating": "satisfied"}
    )
    work.clients["anonymous"].post(
        f"/api/v1/requests/track/{late}/rating", json={"rating": "basically"}
    )
    work.app.state.clock = lambda: T0 + timedelta(days=5)

    rows = work.clients["dispatcher"].get("/api/v1/requests/dashboard?level=grid").json()
    by_grid = {r["area"]: r for r in rows}
    a = by_grid[work.a]
    assert a["total"] == 2 and a["closed"] == 2 and a["on_time_rate"] == 0.5
    assert a["mean_hours_to_close"] == 16.0 and a["satisfaction"] == 1.0
    assert a["by_category"] == {"安全隐患": 2} and a["by_state"] == {"已评价": 2}
    b = by_grid[work.b]
    assert b["open"] == 1 and b["overdue"] == 1 and b["on_time_rate"] is None
    street = work.clients["street"].get("/api/v1/requests/dashboard?level=street").json()
    assert [(r["area"], r["total"]) for r in street] == [(work.community[:9], 3)]
    own = work.clients["worker_a"].get("/api/v1/requests/dashboard?level=grid").json()
    assert [r["area"] for r in own] == [work.a]  # a worker's figures: their grid only
    page = work.clients["dispatcher"].get("/plan/requests")
    assert page.status_code == 200 and "按时办结率" in page.text and "50%" in page.text


def test_the_heat_map_is_for_planners_only(work: Work) -> None:
    work.report(work.in_a)
    work.report(work.in_a)
    cells = work.clients["dispatcher"].get("/api/v1/requests/heat").json()
    assert cells["crs"] == "EPSG:4490" and sum(c[2] for c in cells["cells"]) == 2
    assert work.clients["worker_a"].get("/api/v1/requests/heat").status_code == 403
    assert work.clients["worker_a"].get("/plan/requests").status_code == 403
    assert work.clients["anonymous"].get("/api/v1/requests/heat").status_code == 401
    public = work.clients["anonymous"].get("/map").text
    assert "requests/heat" not in public and "heat.js" not in public
