"""网格信息一键更新 and 基本情况一键查看: a grid worker's household changes in their own grid
only, each audited, the tally moving at once; the change that takes a grid over 500 puts it
on the community planners' dashboard with a button that opens a re-balance draft."""

from __future__ import annotations

from tests.work.conftest import Work

PLACE = """
SELECT m.building_id, coalesce(m.unit_id, (SELECT min(u.id) FROM unit_entrance u
                                             WHERE u.building_id = m.building_id))
FROM grid_member m JOIN grid g ON g.id = m.grid_id
JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published'
WHERE g.code = :code ORDER BY m.building_id LIMIT 1
"""
TALLY = """
SELECT t.households FROM grid_tally t JOIN grid g ON g.id = t.grid_id
JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published' WHERE g.code = :code
"""


def _move_in(work: Work, who: str, building: int, unit: int | None, room: str):
    return work.clients[who].post(
        "/api/v1/fieldwork/households",
        json={
            "building_id": building,
            "unit_id": unit,
            "floor": 1,
            "room": room,
            "head_name": "新住户",
            "head_phone": "13700000000",
            "members": 3,
        },
    )


def test_moving_a_grid_over_500_raises_the_planners_alert(work: Work) -> None:
    building, unit = work.sql(PLACE, code=work.a)[0]
    start = work.sql(TALLY, code=work.a)[0][0]
    assert start <= 500
    planner = work.clients["dispatcher"]
    assert f'data-grid="{work.a}"' not in planner.get("/plan").text
    answers = [_move_in(work, "worker_a", building, unit, f"X{i}") for i in range(501 - start)]
    assert all(a.status_code == 201 for a in answers), answers[-1].text
    assert answers[-1].json()["households"] == 501 and answers[-1].json()["in_band"] is False
    assert work.sql(TALLY, code=work.a) == [(501,)]
    page = planner.get("/plan").text
    assert f'data-grid="{work.a}"' in page and "501 户" in page and "再平衡草稿" in page
    assert work.sql(
        "SELECT count(*) FROM audit_log WHERE action = 'household_move_in' "
        "AND actor = 'account:worker_a'"
    ) == [(501 - start,)]

    opened = planner.post(f"/plan/{work.community}/rebalance", follow_redirects=False)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"].startswith(f"/plan/{work.community}?plan=")
    assert work.sql(
        "SELECT count(*) FROM grid_plan WHERE community_code = :c AND status = 'draft'",
        c=work.community,
    ) == [(1,)]


def test_household_changes_stay_in_the_workers_own_grid(work: Work) -> None:
    building, unit = work.sql(PLACE, code=work.a)[0]
    assert _move_in(work, "worker_b", building, unit, "Y1").status_code == 404
    added = _move_in(work, "worker_a", building, unit, "Y1")
    household = added.json()["household_id"]
    again = _move_in(work, "worker_a", building, unit, "Y1")
    assert again.status_code == 400 and "已登记" in again.json()["detail"]
    other = work.clients["worker_b"]
    base = f"/api/v1/fieldwork/households/{household}"
    assert other.put(f"{base}/members", json={"members": 2}).status_code == 404
    assert other.delete(base).status_code == 404
    assert work.clients["street"].delete(base).status_code == 404

    worker = work.clients["worker_a"]
    assert worker.put(f"{base}/members", json={"members": 5}).status_code == 200
    assert worker.put(f"{base}/care", json={"tags": ["elderly_alone"]}).status_code == 200
    bad_tag = worker.put(f"{base}/care", json={"tags": ["rich"]})
    assert bad_tag.status_code == 400 and "未知的关爱标签" in bad_tag.json()["detail"]
    assert work.sql("SELECT members FROM household WHERE id = :h", h=household) == [(5,)]

    mine = worker.get("/work/grid").text
    assert "独居老人" in mine and f"<td>{household}</td>" in mine
    assert "新住户" not in mine and "新**" in mine  # names masked
    assert f"<td>{household}</td>" not in other.get("/work/grid").text

    before = work.sql(TALLY, code=work.a)[0][0]
    gone = worker.delete(base)
    assert gone.status_code == 200 and gone.json()["households"] == before - 1
    actions = [
        r[0]
        for r in work.sql(
            "SELECT action FROM audit_log WHERE object_id = :h ORDER BY id", h=str(household)
        )
    ]
    assert actions == [
        "household_move_in",
        "household_members",
        "household_care",
        "household_move_out",
    ]
