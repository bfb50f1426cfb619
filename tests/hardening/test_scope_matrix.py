"""Every staff route in the OpenAPI document × every role: outside the role's scope the answer
is 404 (the object does not exist for them), anonymous callers get 401, and nothing of the
other community is returned. The routes are read from the app's own schema, so a new route
is covered the day it is added."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from tests.planning.conftest import World

STAFF_PREFIXES = ("/api/v1/communities/{code}", "/api/v1/streets/{street}")
BODIES = {
    "rebalance": {"revision": 1},
    "divide": {"revision": 1},
    "undo": {"revision": 1},
    "moves": {"revision": 1, "building_ids": [1], "to_grid": 1},
    "publish": {"revision": 1, "reason": "x"},
    "rollback": {"version": 1, "reason": "x"},
    "staff": {"posts": [{"staff_id": 1, "role": "grid_chief"}]},
}


def _staff_routes() -> list[tuple[str, str]]:
    paths = create_app().openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith(STAFF_PREFIXES)
        for method in operations
    )


ROUTES = _staff_routes()


def _fill(world: World, path: str) -> str:
    """The path with every parameter naming an object of the other community (B)."""
    [(plan, building, household, street)] = world.sql(
        "SELECT p.id, b.id, h.id, c.street_code FROM community c "
        "JOIN grid_plan p ON p.community_code = c.code AND p.status = 'published' "
        "JOIN building b ON b.community_code = c.code "
        "JOIN household h ON h.building_id = b.id WHERE c.code = :c LIMIT 1",
        c=world.other,
    )
    values = {
        "code": world.other,
        "plan_id": plan,
        "building_id": building,
        "household_id": household,
        "number": 1,
        "street": street,
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def test_the_matrix_covers_every_staff_route() -> None:
    assert len(ROUTES) >= 19


@pytest.mark.parametrize("role", ["planner", "street", "worker"])
def test_every_staff_route_outside_the_scope_is_404(world: World, role: str) -> None:
    for method, path in ROUTES:
        url = _fill(world, path)
        body = BODIES.get(path.rstrip("/").split("/")[-1])
        if method == "DELETE":
            url += "?revision=1"
        response = world.clients[role].request(method, url, json=body)
        assert response.status_code == 404, (role, method, path, response.status_code)
        assert world.other not in response.text.replace(f"社区 {world.other}", "")


def test_every_staff_route_needs_a_login(world: World) -> None:
    for method, path in ROUTES:
        url = _fill(world, path)
        body = BODIES.get(path.rstrip("/").split("/")[-1])
        response = world.clients["anonymous"].request(method, url, json=body)
        assert response.status_code == 401, (method, path, response.status_code)
