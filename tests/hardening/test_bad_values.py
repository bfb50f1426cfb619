"""NUL bytes and integers beyond any column in every query and path parameter of the OpenAPI
document answer 4xx with a message, never 500 (issue 13, item 4). The parameters are read from
the app's own schema, so a new one is covered the day it is added."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from api.app import create_app
from tests.hardening.test_scope_matrix import BODIES as SCOPE_BODIES
from tests.planning.conftest import World

NUL = "\x00"
HUGE = "99999999999999999999"
# The scope matrix's valid bodies, and a login for the token route.
BODIES = {**SCOPE_BODIES, "token": {"username": "nobody", "password": "x"}}
REQUIRED = {"revision": "1", "layer": "grids"}


def _parameters() -> list[tuple[str, str, str, str]]:
    """(method, path, parameter, where) for every query and path parameter."""
    paths = create_app().openapi()["paths"]
    return sorted(
        (method.upper(), path, p["name"], p["in"])
        for path, operations in paths.items()
        for method, operation in operations.items()
        for p in operation.get("parameters", [])
        if p["in"] in ("query", "path")
    )


PARAMETERS = _parameters()


def _values(world: World) -> dict[str, str]:
    [(plan, building, household, street, grid, fid)] = world.sql(
        "SELECT p.id, b.id, h.id, c.street_code, g.code, g.id FROM community c "
        "JOIN grid_plan p ON p.community_code = c.code AND p.status = 'published' "
        "JOIN grid g ON g.plan_id = p.id JOIN grid_member m ON m.grid_id = g.id "
        "JOIN building b ON b.id = m.building_id "
        "JOIN household h ON h.building_id = b.id WHERE c.code = :c LIMIT 1",
        c=world.home,
    )
    return {
        "community": world.home,
        "grid_code": grid,
        "plan_id": str(plan),
        "building_id": str(building),
        "household_id": str(household),
        "street": street,
        "number": "1",
        "name": "grids",
        "fid": str(fid),
        "kind": "buildings",
        "layer": "grids",
        "z": "12",
        "x": "3300",
        "y": "1700",
        "version": "0",
        "photo_id": "1",
    }


def _url(path: str, name: str, bad: str, values: dict[str, str]) -> tuple[str, dict[str, str]]:
    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key == name:
            return quote(bad, safe="")
        if key == "code":
            return values["community" if path.startswith("/api/v1/communities") else "grid_code"]
        return values[key]

    url = re.sub(r"\{([\w-]+)\}", fill, path)
    query = {k: v for k, v in REQUIRED.items() if k != name}
    return url, query


def test_the_sweep_covers_every_parameter() -> None:
    assert len(PARAMETERS) >= 60
    assert ("GET", "/api/v1/lookup", "q", "query") in PARAMETERS


@pytest.mark.parametrize("bad", [NUL, HUGE], ids=["nul", "huge"])
def test_every_parameter_with_a_bad_value_is_4xx(world: World, bad: str) -> None:
    values = _values(world)
    failures = []
    for method, path, name, where in PARAMETERS:
        url, query = _url(path, name, bad, values)
        if where == "query":
            query[name] = bad
        body = BODIES.get(path.rstrip("/").split("/")[-1])
        role = "planner" if path.startswith("/api/v1/communities") else "admin"
        if path.endswith("signboard.pdf") and where == "path" and bad == HUGE:
            continue  # 20 digits cannot be a 15-digit code: refused by the pattern like NUL
        try:
            response = world.clients[role].request(method, url, params=query, json=body)
        except Exception as exc:  # the test client re-raises what would have been a 500
            failures.append((method, path, name, repr(exc)[:120]))
            continue
        if response.status_code >= 500 or "Traceback" in response.text:
            failures.append((method, path, name, response.status_code, response.text[:120]))
    assert failures == [], "\n".join(map(str, failures))
    # nothing was written by any of them
    assert world.sql("SELECT count(*) FROM grid_plan WHERE status = 'draft'")[0][0] == 0


def test_a_nul_byte_is_named_in_chinese(world: World) -> None:
    client = world.clients["admin"]
    response = client.get("/api/v1/lookup", params={"q": "中山路\x001号"})
    assert response.status_code == 400
    assert response.json()["detail"] == "参数 q 含有空字符（NUL），请删除后重试"
    response = client.get("/api/v1/lookup", params={"geometry\x00": "1", "lon": "109.19"})
    assert response.json()["detail"] == "参数 geometry 含有空字符（NUL），请删除后重试"
    response = client.get(f"/g/{quote(NUL)}123")
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "网址路径含有空字符（NUL），请删除后重试",
    )
    # "%2500" is a percent sign and two zeros, not a NUL: the lookup reads it as an address
    response = client.get("/api/v1/lookup?q=%2500")
    assert response.status_code == 404
