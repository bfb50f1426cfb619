"""Drafts, edits, optimistic locking, undo, publishing and rollback through the API."""

from __future__ import annotations

from sqlalchemy import text

from data.db import make_engine
from tests.planning.conftest import World


def _base(world: World) -> str:
    return f"/api/v1/communities/{world.home}"


def _draft(world: World, who: str = "planner") -> dict:
    response = world.clients[who].post(f"{_base(world)}/drafts")
    assert response.status_code == 201, response.text
    return response.json()


def _movable(world: World, draft: dict) -> tuple[int, int]:
    """A building and a neighbouring grid it may move to."""
    client = world.clients["planner"]
    plan = draft["plan"]["id"]
    for building in range(1, 400):
        response = client.get(f"{_base(world)}/plans/{plan}/buildings/{building}/neighbours")
        if response.status_code == 200 and response.json():
            return building, response.json()[0]
    raise AssertionError("no building with a neighbouring grid")


def test_a_draft_copies_the_published_plan_and_is_shared(world: World) -> None:
    published = next(
        p
        for p in world.clients["planner"].get(f"{_base(world)}/plans").json()
        if p["status"] == "published"
    )
    draft = _draft(world)
    original = world.clients["planner"].get(f"{_base(world)}/plans/{published['id']}").json()
    assert draft["plan"]["status"] == "draft"
    assert draft["plan"]["version"] == published["version"] + 1
    assert [(g["code"], g["households"]) for g in draft["grids"]] == [
        (g["code"], g["households"]) for g in original["grids"]
    ]
    again = _draft(world, "planner2")
    assert again["plan"]["id"] == draft["plan"]["id"]


def test_a_stale_revision_is_409_naming_who_changed_the_draft(world: World) -> None:
    draft = _draft(world)
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    building, target = _movable(world, draft)
    first = world.clients["planner"].post(
        f"{_base(world)}/plans/{plan}/moves",
        json={"revision": revision, "building_ids": [building], "to_grid": target},
    )
    assert first.status_code == 200, first.text
    second = world.clients["planner2"].post(
        f"{_base(world)}/plans/{plan}/undo", json={"revision": revision}
    )
    assert second.status_code == 409
    body = second.json()
    assert body["changed_by"] == "planner"
    assert "planner" in body["detail"] and "未保存" in body["detail"]
    after = world.clients["planner2"].get(f"{_base(world)}/plans/{plan}").json()
    assert after["plan"]["revision"] == revision + 1
    history = world.clients["planner2"].get(f"{_base(world)}/plans/{plan}/history").json()
    assert [h["action"] for h in history] == ["move"]


def test_moving_to_a_grid_that_is_not_a_neighbour_is_refused(world: World) -> None:
    draft = _draft(world)
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    building, _ = _movable(world, draft)
    client = world.clients["planner"]
    neighbours = client.get(f"{_base(world)}/plans/{plan}/buildings/{building}/neighbours").json()
    own = {g["number"] for g in draft["grids"]}
    far = next(n for n in sorted(own) if n not in neighbours and n != neighbours[0])
    response = client.post(
        f"{_base(world)}/plans/{plan}/moves",
        json={"revision": revision, "building_ids": [building], "to_grid": far},
    )
    assert response.status_code == 422
    assert "不相邻" in response.json()["detail"] or "不能移入" in response.json()["detail"]
    after = client.get(f"{_base(world)}/plans/{plan}").json()
    assert after["plan"]["revision"] == revision
    assert after["grids"] == draft["grids"]


def test_a_move_updates_the_tallies_and_undo_restores_them(world: World) -> None:
    draft = _draft(world)
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    building, target = _movable(world, draft)
    client = world.clients["planner"]
    moved = client.post(
        f"{_base(world)}/plans/{plan}/moves",
        json={"revision": revision, "building_ids": [building], "to_grid": target},
    ).json()
    before = {g["number"]: g["households"] for g in draft["grids"]}
    after = {g["number"]: g["households"] for g in moved["grids"]}
    assert after[target] > before[target]
    assert sum(after.values()) == sum(before.values())
    diff = client.get(f"{_base(world)}/plans/{plan}/diff").json()
    assert [b["building_id"] for b in diff["moved_buildings"]] == [building]
    assert diff["households_changing_worker"] == after[target] - before[target]
    undone = client.post(
        f"{_base(world)}/plans/{plan}/undo", json={"revision": moved["plan"]["revision"]}
    ).json()
    assert {g["number"]: g["households"] for g in undone["grids"]} == before
    assert client.get(f"{_base(world)}/plans/{plan}/diff").json()["moved_buildings"] == []


def test_publishing_a_draft_that_breaks_the_rules_needs_a_reason(
    world: World, isolated_url: str
) -> None:
    draft = _draft(world)
    assert not draft["ok"], "the fixture's published plan is deliberately imperfect"
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    client = world.clients["planner"]
    refused = client.post(f"{_base(world)}/plans/{plan}/publish", json={"revision": revision})
    assert refused.status_code == 422
    assert "原因" in refused.json()["detail"]
    assert client.get(f"{_base(world)}/plans/{plan}").json()["plan"]["status"] == "draft"
    published = client.post(
        f"{_base(world)}/plans/{plan}/publish",
        json={"revision": revision, "reason": "新楼盘入住前临时保留"},
    )
    assert published.status_code == 200, published.text
    plans = {p["version"]: p for p in client.get(f"{_base(world)}/plans").json()}
    assert plans[draft["plan"]["version"]]["status"] == "published"
    old = plans[draft["plan"]["version"] - 1]
    assert old["status"] == "archived"
    assert client.get(f"{_base(world)}/plans/{old['id']}").status_code == 200
    engine = make_engine(isolated_url)
    with engine.connect() as conn:
        reason = conn.execute(
            text("SELECT reason FROM audit_log WHERE action = 'publish' AND actor = 'planner'")
        ).scalar_one()
    engine.dispose()
    assert reason == "新楼盘入住前临时保留"


def test_rollback_publishes_a_copy_of_an_earlier_version(world: World) -> None:
    draft = _draft(world)
    client = world.clients["planner"]
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    building, target = _movable(world, draft)
    client.post(
        f"{_base(world)}/plans/{plan}/moves",
        json={"revision": revision, "building_ids": [building], "to_grid": target},
    )
    client.post(
        f"{_base(world)}/plans/{plan}/publish", json={"revision": revision + 1, "reason": "测试"}
    )
    first = min(p["version"] for p in client.get(f"{_base(world)}/plans").json())
    rolled = client.post(f"{_base(world)}/rollback", json={"version": first, "reason": "恢复"})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["status"] == "published"
    now = client.get(f"{_base(world)}/plans/{rolled.json()['id']}").json()
    original = next(p for p in client.get(f"{_base(world)}/plans").json() if p["version"] == first)
    then = client.get(f"{_base(world)}/plans/{original['id']}").json()
    assert [(g["code"], g["households"]) for g in now["grids"]] == [
        (g["code"], g["households"]) for g in then["grids"]
    ]


def test_a_deleted_draft_is_gone_for_every_edit(world: World) -> None:
    draft = _draft(world)
    client = world.clients["planner"]
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    deleted = client.delete(f"{_base(world)}/plans/{plan}?revision={revision}")
    assert deleted.status_code == 204
    assert client.get(f"{_base(world)}/plans/{plan}").status_code == 404
    response = client.post(f"{_base(world)}/plans/{plan}/undo", json={"revision": revision})
    assert response.status_code == 404
    assert "不存在" in response.json()["detail"]


def test_published_and_archived_plans_cannot_be_edited(world: World) -> None:
    client = world.clients["planner"]
    published = next(
        p for p in client.get(f"{_base(world)}/plans").json() if p["status"] == "published"
    )
    response = client.post(
        f"{_base(world)}/plans/{published['id']}/rebalance",
        json={"revision": published["revision"]},
    )
    assert response.status_code == 409
    assert "草稿" in response.json()["detail"]


def test_a_whole_compound_moves_together(world: World) -> None:
    draft = _draft(world)
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    client = world.clients["planner"]
    compounds = world.sql(
        "SELECT array_agg(b.id ORDER BY b.id) FROM building b "
        "JOIN grid_member m ON m.building_id = b.id AND m.plan_id = :plan "
        "JOIN grid g ON g.id = m.grid_id WHERE b.compound_id IS NOT NULL "
        "GROUP BY b.compound_id HAVING count(*) > 1 AND count(DISTINCT g.number) = 1",
        plan=plan,
    )
    for (ids,) in compounds:
        targets = set()
        for b in ids:
            targets |= set(
                client.get(f"{_base(world)}/plans/{plan}/buildings/{b}/neighbours").json()
            )
        if targets:
            break
    else:
        raise AssertionError("no compound next to another grid")
    target = min(targets)
    moved = client.post(
        f"{_base(world)}/plans/{plan}/moves",
        json={"revision": revision, "building_ids": ids, "to_grid": target},
    )
    assert moved.status_code == 200, moved.text
    grids = world.sql(
        "SELECT DISTINCT g.number FROM grid_member m JOIN grid g ON g.id = m.grid_id "
        "WHERE m.plan_id = :plan AND m.building_id = ANY(:ids)",
        plan=plan,
        ids=ids,
    )
    assert grids == [(target,)]
    assert not [v for v in moved.json()["violations"] if v["rule"] == "compound"]


def test_street_drafts_and_street_map_hold_the_scope(world: World) -> None:
    [(street,)] = world.sql("SELECT street_code FROM community WHERE code = :c", c=world.home)
    [(other_street,)] = world.sql(
        "SELECT street_code FROM community WHERE code = :c", c=world.other
    )
    opened = world.clients["street"].post(f"/api/v1/streets/{street}/drafts")
    assert opened.status_code == 201, opened.text
    assert [d["community"] for d in opened.json()] == [world.home]
    again = world.clients["street"].post(f"/api/v1/streets/{street}/drafts").json()
    assert again == opened.json()
    assert world.clients["street"].post(f"/api/v1/streets/{other_street}/drafts").status_code == 404
    assert world.clients["worker"].post(f"/api/v1/streets/{street}/drafts").status_code == 403
    page = world.clients["street"].get(f"/plan/street/{street}")
    assert page.status_code == 200
    assert f'href="/plan/{world.home}"' in page.text and world.other not in page.text
    assert world.clients["street"].get(f"/plan/street/{other_street}").status_code == 404
    assert world.clients["admin"].get(f"/plan/street/{other_street}").status_code == 200


def test_a_move_keeps_grids_made_of_units_of_a_split_building(world: World) -> None:
    """Re-balancing may leave a grid holding only some unit entrances of a building; a later
    move elsewhere must redraw that grid, not lose it."""
    draft = _draft(world)
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    [(building, unit, grid_id)] = world.sql(
        "SELECT b.id, max(u.id), min(m.grid_id) FROM building b "
        "JOIN unit_entrance u ON u.building_id = b.id "
        "JOIN grid_member m ON m.building_id = b.id AND m.plan_id = :plan "
        "GROUP BY b.id HAVING count(u.id) > 1 ORDER BY b.id LIMIT 1",
        plan=plan,
    )
    engine = make_engine(world.url)
    with engine.begin() as conn:
        new = conn.execute(
            text(
                "INSERT INTO grid (plan_id, code, number, name, geom) "
                "SELECT plan_id, left(code, 12) || '099', 99, '第99网格', geom FROM grid "
                "WHERE id = :g RETURNING id"
            ),
            {"g": grid_id},
        ).scalar_one()
        units = (
            conn.execute(
                text("SELECT id FROM unit_entrance WHERE building_id = :b"), {"b": building}
            )
            .scalars()
            .all()
        )
        conn.execute(
            text("DELETE FROM grid_member WHERE plan_id = :p AND building_id = :b"),
            {"p": plan, "b": building},
        )
        for u in units:
            conn.execute(
                text(
                    "INSERT INTO grid_member (plan_id, grid_id, building_id, unit_id) "
                    "VALUES (:p, :g, :b, :u)"
                ),
                {"p": plan, "g": new if u == unit else grid_id, "b": building, "u": u},
            )
    engine.dispose()
    other, target = _movable(world, draft)
    assert other != building
    moved = world.clients["planner"].post(
        f"{_base(world)}/plans/{plan}/moves",
        json={"revision": revision, "building_ids": [other], "to_grid": target},
    )
    assert moved.status_code == 200, moved.text
    assert 99 in {g["number"] for g in moved.json()["grids"]}
    assert world.sql(
        "SELECT g.number FROM grid_member m JOIN grid g ON g.id = m.grid_id "
        "WHERE m.plan_id = :p AND m.unit_id = :u",
        p=plan,
        u=unit,
    ) == [(99,)]


def test_the_best_plan_is_an_option_of_the_rebalance(world: World) -> None:
    draft = _draft(world)
    plan, revision = draft["plan"]["id"], draft["plan"]["revision"]
    client = world.clients["planner"]
    low, high = draft["band"]

    def outside(detail: dict) -> int:
        return sum(not low <= g["households"] <= high for g in detail["grids"])

    url = f"{_base(world)}/plans/{plan}/rebalance"
    bad = client.post(url, json={"revision": revision, "best": "perhaps"})
    assert bad.status_code == 422
    best = client.post(url, json={"revision": revision, "best": True})
    assert best.status_code == 200, best.text
    assert outside(best.json()) <= outside(draft)
    assert best.json()["plan"]["revision"] == revision + 1
