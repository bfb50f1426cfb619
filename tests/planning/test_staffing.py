"""Staff posts per grid, liaison groups and the staffing dashboard."""

from __future__ import annotations

from tests.planning.conftest import World


def _published(world: World) -> dict:
    client = world.clients["planner"]
    plans = client.get(f"/api/v1/communities/{world.home}/plans").json()
    plan = next(p for p in plans if p["status"] == "published")
    return client.get(f"/api/v1/communities/{world.home}/plans/{plan['id']}").json()


def test_posts_can_be_replaced_and_are_audited(world: World) -> None:
    plan = _published(world)
    grid = plan["grids"][0]
    staff = world.clients["planner"].get(f"/api/v1/communities/{world.home}/staff").json()
    chief = next(s for s in staff if s["role"] == "grid_chief")
    worker = next(s for s in staff if s["role"] == "full_time_worker")
    url = (
        f"/api/v1/communities/{world.home}/plans/{plan['plan']['id']}/grids/{grid['number']}/staff"
    )
    posts = [
        {"staff_id": chief["id"], "role": "grid_chief"},
        {"staff_id": worker["id"], "role": "full_time_worker"},
    ]
    response = world.clients["planner"].put(url, json={"posts": posts})
    assert response.status_code == 204, response.text
    rows = world.sql(
        "SELECT s.staff_id, s.role::text FROM grid_staff s JOIN grid g ON g.id = s.grid_id "
        "WHERE g.code = :code AND g.plan_id = :plan ORDER BY 1",
        code=grid["code"],
        plan=plan["plan"]["id"],
    )
    assert sorted(rows) == sorted([(chief["id"], "grid_chief"), (worker["id"], "full_time_worker")])
    audit = world.sql("SELECT actor FROM audit_log WHERE action = 'staff_assigned'")
    assert audit == [("planner",)]
    card = world.clients["anonymous"].get(f"/api/v1/lookup/grids/{grid['code']}").json()
    assert {s["name"] for s in card["staff"]} == {chief["name"], worker["name"]}


def test_bad_posts_are_refused_and_change_nothing(world: World) -> None:
    plan = _published(world)
    grid = plan["grids"][0]
    url = (
        f"/api/v1/communities/{world.home}/plans/{plan['plan']['id']}/grids/{grid['number']}/staff"
    )
    staff = world.clients["planner"].get(f"/api/v1/communities/{world.home}/staff").json()
    chiefs = [s["id"] for s in staff if s["role"] == "grid_chief"][:2]
    outsider = world.sql("SELECT max(id) + 1000 FROM staff")[0][0]
    before = world.sql("SELECT count(*) FROM grid_staff")
    cases = [
        [
            {"staff_id": chiefs[0], "role": "grid_chief"},
            {"staff_id": chiefs[1], "role": "grid_chief"},
        ],
        [{"staff_id": outsider, "role": "grid_chief"}],
        [{"staff_id": chiefs[0], "role": "full_time_worker"}],
    ]
    for posts in cases:
        response = world.clients["planner"].put(url, json={"posts": posts})
        assert response.status_code == 422, (posts, response.text)
    assert world.clients["worker"].put(url, json={"posts": cases[0][:1]}).status_code == 403
    assert world.sql("SELECT count(*) FROM grid_staff") == before


def test_liaison_groups_suggest_one_leader_per_ten_households(world: World) -> None:
    groups = world.clients["planner"].get(f"/api/v1/communities/{world.home}/liaison-groups")
    assert groups.status_code == 200
    rows = groups.json()
    total = world.sql(
        "SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id "
        "WHERE b.community_code = :c",
        c=world.home,
    )[0][0]
    assert sum(r["households"] for r in rows) == total
    for row in rows:
        assert row["suggested_leaders"] == max(1, round(row["households"] / 10))
        assert row["missing_leaders"] == max(0, row["suggested_leaders"] - row["leaders"])
    assert "head_name" not in rows[0]


def test_dashboard_counts_grids_without_a_full_time_worker(world: World) -> None:
    board = world.clients["street"].get("/api/v1/dashboard").json()
    (row,) = [r for r in board["communities"] if r["code"] == world.home]
    missing = world.sql(
        "SELECT count(*) FROM grid g JOIN grid_plan p ON p.id = g.plan_id "
        "WHERE p.status = 'published' AND p.community_code = :c AND NOT EXISTS ("
        "SELECT 1 FROM grid_staff s WHERE s.grid_id = g.id AND s.role = 'full_time_worker')",
        c=world.home,
    )[0][0]
    assert row["grids_without_full_time_worker"] == missing
    assert row["full_time_coverage"] == round(1 - missing / row["grids"], 3)
    assert row["grids_over"] + row["grids_under"] > 0
    (street,) = board["streets"]
    assert street["grids"] == row["grids"]
    page = world.clients["street"].get("/plan")
    assert page.status_code == 200 and world.home in page.text
