"""Every write route of the OpenAPI document, called by a planner of community A on A's own
draft with one object of community B slipped in (a plan, building, household, staff member or
street office of B, in the path or the body), is refused (403/404/422) and changes nothing
(issue 13, items 1 and 3). Cross-community paths (``/communities/B/...``) are
``test_scope_matrix``'s; imports are ``tests/platforms``'.

The id-like fields are read from the schema, so a route that grows a new one fails
``test_every_id_field_is_swept_or_exempt`` until the sweep knows what to put there."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.app import create_app
from api.routes import auth, planner, public
from tests.planning.conftest import World

WRITES = ("post", "put", "patch", "delete")
NOT_SWEPT = (
    "/api/v1/import/",  # imports: tests/planning/test_import_scope.py
    # The work loop acts on a request's tracking code or a household of the caller's own grid:
    # tests/work/test_privacy.py and test_fieldwork.py (changes stay in the worker's grid).
    "/api/v1/requests",
    "/api/v1/fieldwork/",
)
SWEPT = {"plan_id", "building_id", "building_ids", "household_id", "staff_id", "street"}
EXEMPT = {
    "code": "the community in the path: test_scope_matrix sends B's",
    "revision": "a counter of the caller's own draft",
    "version": "version numbers are per community: B's number names A's own version",
    "number": "grid numbers are per plan",
    "to_grid": "grid numbers are per plan",
    "seed": "not an object",
    "reason": "not an object",
    "role": "not an object",
    "posts": "a list of objects whose ids are swept (staff_id)",
    "from_version": "version numbers are per community: B's number names A's own version",
    "best": "not an object",
    "strict": "not an object",
}


def _schema() -> dict:
    return create_app().openapi()


def _fields(schema: dict, node: dict) -> set[str]:
    """Property names of a request body schema, through $refs, arrays and nesting."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _fields(schema, schema["components"]["schemas"][name])
    names: set[str] = set()
    for sub in node.get("anyOf", []) + node.get("allOf", []):
        names |= _fields(schema, sub)
    if "items" in node:
        names |= _fields(schema, node["items"])
    for name, prop in node.get("properties", {}).items():
        names |= {name} | _fields(schema, prop)
    return names


def _write_routes() -> list[tuple[str, str, frozenset[str]]]:
    schema = _schema()
    routes = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith(NOT_SWEPT):
            continue
        for method, operation in operations.items():
            if method not in WRITES:
                continue
            names = {p["name"] for p in operation.get("parameters", [])}
            body = operation.get("requestBody", {}).get("content", {})
            for content in body.values():
                names |= _fields(schema, content["schema"])
            routes.append((method.upper(), path, frozenset(names)))
    return sorted(routes)


ROUTES = _write_routes()
PAGE_FORMS = [("POST", "/login"), ("POST", "/logout")]  # neither names a community's object


def test_every_id_field_is_swept_or_exempt() -> None:
    assert len(ROUTES) >= 11
    unknown = {
        (path, name)
        for _, path, names in ROUTES
        for name in names
        if name not in SWEPT and name not in EXEMPT and name not in ("username", "password")
    }
    assert unknown == set()
    page_writes = {
        (method, route.path)
        for router in (auth.pages, planner.router, public.router)
        for route in router.routes
        for method in route.methods
        if method.lower() in WRITES
    }
    assert page_writes == set(PAGE_FORMS)


OTHER_STAFF = """
INSERT INTO staff (community_code, name, role, work_phone, party_member)
VALUES (:c, '东山网格长', 'grid_chief', '13900000001', false) RETURNING id
"""


def _objects(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """(A's own objects for a valid request, B's objects to slip in)."""
    planner = world.clients["planner"]
    prefix = f"/api/v1/communities/{world.home}"
    draft = planner.post(f"{prefix}/drafts").json()["plan"]
    buildings = world.sql(
        "SELECT building_id FROM grid_member WHERE plan_id = :p ORDER BY 1", p=draft["id"]
    )
    for (building,) in buildings:
        near = planner.get(f"{prefix}/plans/{draft['id']}/buildings/{building}/neighbours")
        if near.status_code == 200 and near.json():
            to_grid = near.json()[0]
            break
    [(staff,)] = world.sql(
        "SELECT id FROM staff WHERE community_code = :c AND role = 'grid_chief' LIMIT 1",
        c=world.home,
    )
    [(plan, b_building, household, street)] = world.sql(
        "SELECT p.id, b.id, h.id, c.street_code FROM community c "
        "JOIN grid_plan p ON p.community_code = c.code AND p.status = 'published' "
        "JOIN building b ON b.community_code = c.code "
        "JOIN household h ON h.building_id = b.id WHERE c.code = :c LIMIT 1",
        c=world.other,
    )
    [(b_staff,)] = world.sql(OTHER_STAFF, c=world.other)
    own = {
        "plan_id": draft["id"],
        "building_id": building,
        "building_ids": [building],
        "to_grid": to_grid,
        "staff_id": staff,
        "number": 1,
    }
    other = {
        "plan_id": plan,
        "building_id": b_building,
        "building_ids": [building, b_building],  # with one of A's: each id must be checked
        "household_id": household,
        "staff_id": b_staff,
        "street": street,
    }
    return own, other


BODIES = {
    "rebalance": {"revision": "{revision}"},
    "divide": {"revision": "{revision}"},
    "undo": {"revision": "{revision}"},
    "moves": {"revision": "{revision}", "building_ids": "{building_ids}", "to_grid": "{to_grid}"},
    "publish": {"revision": "{revision}", "reason": "sweep"},
    "staff": {
        "posts": [{"staff_id": "{staff_id}", "role": "grid_chief"}],
        "revision": "{revision}",
    },
}


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return values[value[1:-1]]
    return value


def _snapshot(world: World) -> list:
    return world.sql(
        "SELECT (SELECT array_agg(row(id, community_code, status, revision) ORDER BY id) "
        "        FROM grid_plan), "
        "       (SELECT array_agg(row(plan_id, grid_id, building_id, unit_id) "
        "                         ORDER BY plan_id, building_id, unit_id) FROM grid_member), "
        "       (SELECT array_agg(row(grid_id, staff_id, role) ORDER BY grid_id, staff_id) "
        "        FROM grid_staff), "
        "       (SELECT array_agg(row(id, community_code) ORDER BY id) FROM building), "
        "       (SELECT array_agg(row(id, building_id) ORDER BY id) FROM household)"
    )


def _cases() -> list[tuple[str, str, str]]:
    return [
        (method, path, slot) for method, path, names in ROUTES for slot in sorted(names & SWEPT)
    ]


@pytest.mark.parametrize("role", ["planner", "street"])
def test_an_object_of_another_community_is_refused_on_every_write_route(
    world: World, role: str
) -> None:
    own, other = _objects(world)
    client = world.clients[role]
    before = _snapshot(world)
    refused = []
    for method, path, slot in _cases():
        draft = client.get(f"/api/v1/communities/{world.home}/plans/{own['plan_id']}").json()
        values = {**own, "revision": draft["plan"]["revision"], "code": world.home}
        values[slot] = other[slot]
        url = re.sub(r"\{(\w+)\}", lambda m, v=values: str(v[m.group(1)]), path)
        body = _fill(BODIES.get(path.rsplit("/", 1)[-1]), values)
        params = {"revision": values["revision"]} if method == "DELETE" else None
        response = client.request(method, url, json=body, params=params)
        refused.append((method, path, slot, response.status_code))
        assert response.status_code in (403, 404, 422), (method, path, slot, response.text)
    assert _snapshot(world) == before
    assert {slot for *_, slot, _ in refused} == SWEPT - {"building_id", "household_id"}
