"""Dashboards and the heat map: per street, community and grid, requests by state and
category, on-time rate, mean time to close and satisfaction; the heat map for planners only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from data.db import make_engine
from data.requests.dashboard import ROLLUP_ZONE, ROW_VALUES, STATE_COLUMNS, window_parts
from data.requests.workflow import escalate_overdue
from data.settings import Settings
from maps.planner import HEAT_NAME
from tests.work.conftest import Work

SLA = Settings().request_sla_hours
HEAT_LABEL = json.dumps(HEAT_NAME)  # as the map's layer control names it

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
    assert HEAT_LABEL not in public and "wg-heat" not in public


def test_the_planners_map_has_the_heat_layer_a_workers_view_has_not(work: Work) -> None:
    work.report(work.in_a)
    planner = work.clients["dispatcher"].get(f"/plan/{work.community}")
    assert planner.status_code == 200
    assert HEAT_LABEL in planner.text and planner.text.count("wg-heat") == 1
    worker = work.clients["worker_a"].get(f"/plan/{work.community}")
    assert HEAT_LABEL not in worker.text and "wg-heat" not in worker.text


ROLLUP_FROM_ROWS = f"""
SELECT date_trunc('month', r.created_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
       r.community_code, r.grid_code, r.category,
       {", ".join(f"sum({v}) AS {k}" for k, v in ROW_VALUES.items())}
FROM service_request r GROUP BY 1, 2, 3, 4
"""


def _rollup(work: Work) -> set[tuple]:
    rows = work.sql(
        f"SELECT month, community_code, grid_code, category, {', '.join(ROW_VALUES)} "
        "FROM request_rollup WHERE " + " OR ".join(f"{s} <> 0" for s in STATE_COLUMNS)
    )
    return {tuple(r) for r in rows}


def test_the_rollup_always_equals_the_requests(work: Work) -> None:
    """Every kind of write (report, accept, close, rate, reopen, dispatch to another grid,
    escalate, delete) keeps the dashboard's monthly sums equal to the requests' own."""
    start = datetime(2026, 1, 31, 15, 30, tzinfo=UTC)  # 23:30 in Beijing; an hour on: February
    codes = []
    for hours, point in ((0, work.in_a), (1, work.in_a), (2, work.in_b), (700, work.outside)):
        work.app.state.clock = lambda h=hours: start + timedelta(hours=h)
        codes.append(work.report(point, category="设施报修").json()["code"])
    worker = work.clients["worker_a"]
    work.app.state.clock = lambda: start + timedelta(hours=3)
    worker.post(f"/api/v1/requests/{codes[0]}/accept")
    worker.post(f"/api/v1/requests/{codes[0]}/close", data={"result": "已修好"})
    work.clients["anonymous"].post(
        f"/api/v1/requests/track/{codes[0]}/rating", json={"rating": "unsatisfied"}
    )
    work.clients["dispatcher"].post(
        f"/api/v1/requests/{codes[1]}/dispatch",
        json={"kind": "grid", "value": work.b, "reason": "属于相邻网格"},
    )
    engine = make_engine(work.url)
    with Session(engine) as session, session.begin():
        assert escalate_overdue(session, start + timedelta(days=60), SLA) > 0
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM service_request WHERE code = :c"), {"c": codes[2]})
    engine.dispose()
    expected = {tuple(r) for r in work.sql(ROLLUP_FROM_ROWS)}
    assert len(expected) == 3  # January in grid A, February in B, March outside every grid
    assert _rollup(work) == expected


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2025-12-02 18:00", "2026-12-02 18:00"),  # a year: whole months and two partial ones
        ("2026-03-01 00:00", "2026-05-01 00:00"),  # exactly on Beijing's month starts
        ("2026-03-10 00:00", "2026-03-12 00:00"),  # inside one month
        ("2026-02-28 12:00", "2026-03-02 00:00"),  # across one month's end
    ],
)
def test_a_window_is_whole_months_and_the_rest_never_twice(since: str, until: str) -> None:
    tz = ROLLUP_ZONE
    a = datetime.fromisoformat(since).replace(tzinfo=UTC)
    b = datetime.fromisoformat(until).replace(tzinfo=UTC)
    parts = window_parts(a, b)
    first = datetime.combine(parts["first_month"], datetime.min.time(), tz)
    end = datetime.combine(parts["end_month"], datetime.min.time(), tz)
    assert first.day == end.day == 1 and first <= end
    # [since, head_end) + [first, end) + [tail_start, until) is [since, until), no overlap
    assert parts["since"] == a and parts["until"] == b
    assert parts["head_end"] == min(first, b) and parts["tail_start"] == end
    assert end <= b or first == end
    assert first >= a


def test_the_dashboard_reads_whole_months_and_partial_ones_alike(work: Work) -> None:
    """The same requests counted over windows cut differently: the whole months come from the
    rollup, the partial ones from the rows, and the totals agree."""
    base = datetime(2026, 5, 15, 4, 0, tzinfo=UTC)
    for days in (0, 20, 45, 80):
        work.app.state.clock = lambda d=days: base + timedelta(days=d)
        work.report(work.in_a)
    work.app.state.clock = lambda: base + timedelta(days=81)
    client = work.clients["admin"]
    totals = {
        days: sum(
            r["total"]
            for r in client.get(f"/api/v1/requests/dashboard?level=community&days={days}").json()
        )
        for days in (2, 40, 62, 365)
    }
    assert totals == {2: 1, 40: 2, 62: 3, 365: 4}
