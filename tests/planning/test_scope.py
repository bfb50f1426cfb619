"""Every role is held to its scope: reads and writes outside it are 404 (it does not exist for
them), writes by a grid worker are 403, anonymous calls are 401."""

from __future__ import annotations

import pytest

from tests.planning.conftest import World

READS = [
    ("GET", "/api/v1/communities/{c}/plans"),
    ("GET", "/api/v1/communities/{c}/plans/{p}"),
    ("GET", "/api/v1/communities/{c}/plans/{p}/diff"),
    ("GET", "/api/v1/communities/{c}/plans/{p}/history"),
    ("GET", "/plan/{c}"),
]
WRITES = [
    ("POST", "/api/v1/communities/{c}/drafts", None),
    ("POST", "/api/v1/communities/{c}/plans/{p}/rebalance", {"revision": 1}),
    ("POST", "/api/v1/communities/{c}/plans/{p}/divide", {"revision": 1}),
    (
        "POST",
        "/api/v1/communities/{c}/plans/{p}/moves",
        {"revision": 1, "building_ids": [1], "to_grid": 1},
    ),
    ("POST", "/api/v1/communities/{c}/plans/{p}/undo", {"revision": 1}),
    ("POST", "/api/v1/communities/{c}/plans/{p}/publish", {"revision": 1, "reason": "x"}),
    ("POST", "/api/v1/communities/{c}/rollback", {"version": 1, "reason": "x"}),
    ("DELETE", "/api/v1/communities/{c}/plans/{p}?revision=1", None),
]


def _published_id(world: World, code: str) -> int:
    plans = world.clients["admin"].get(f"/api/v1/communities/{code}/plans").json()
    return next(p["id"] for p in plans if p["status"] == "published")


@pytest.mark.parametrize("role", ["planner", "street", "worker"])
def test_reads_outside_scope_are_404(world: World, role: str) -> None:
    plan = _published_id(world, world.other)
    client = world.clients[role]
    for method, path in READS:
        response = client.request(method, path.format(c=world.other, p=plan))
        assert response.status_code == 404, (role, path, response.status_code)
    listed = {c["code"] for c in client.get("/api/v1/communities").json()}
    assert world.other not in listed
    assert world.home in listed


@pytest.mark.parametrize("role", ["planner", "street", "worker"])
def test_writes_outside_scope_are_404_and_change_nothing(world: World, role: str) -> None:
    plan = _published_id(world, world.other)
    before = world.clients["admin"].get(f"/api/v1/communities/{world.other}/plans").json()
    for method, path, body in WRITES:
        response = world.clients[role].request(
            method, path.format(c=world.other, p=plan), json=body
        )
        assert response.status_code == 404, (role, path, response.status_code)
    after = world.clients["admin"].get(f"/api/v1/communities/{world.other}/plans").json()
    assert after == before


def test_a_plan_id_of_another_community_is_404_under_ones_own(world: World) -> None:
    plan = _published_id(world, world.other)
    response = world.clients["planner"].get(f"/api/v1/communities/{world.home}/plans/{plan}")
    assert response.status_code == 404


def test_grid_worker_reads_own_community_but_cannot_write(world: World) -> None:
    plan = _published_id(world, world.home)
    worker = world.clients["worker"]
    assert worker.get(f"/api/v1/communities/{world.home}/plans/{plan}").status_code == 200
    for method, path, body in WRITES:
        response = worker.request(method, path.format(c=world.home, p=plan), json=body)
        assert response.status_code == 403, (path, response.status_code)


def test_admin_and_planners_reach_their_scope(world: World) -> None:
    admin = {c["code"] for c in world.clients["admin"].get("/api/v1/communities").json()}
    street = {c["code"] for c in world.clients["street"].get("/api/v1/communities").json()}
    assert admin == {world.home, world.other}
    assert street == {world.home}
    plan = _published_id(world, world.other)
    assert world.clients["admin"].get(f"/plan/{world.other}?plan={plan}").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_anonymous_calls_are_401(world: World, method: str, path: str, body) -> None:
    plan = _published_id(world, world.home)
    response = world.clients["anonymous"].request(
        method, path.format(c=world.home, p=plan), json=body
    )
    assert response.status_code == 401
