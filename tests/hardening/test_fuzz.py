"""Hostile input: the API fuzzed from its own OpenAPI schema, anonymously and as every role, and
a regression test for each bug the fuzzer found (issue 7, item 1). ``bench/fuzz.py`` runs the
same harness for 10,000+ cases."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from api.deps import PG_INT_MAX
from bench.fuzz import fuzz
from tests.conftest import serving
from tests.planning.conftest import World, world  # noqa: F401

CASES = 300


def _known(url: str, home: str) -> dict[str, str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        plan = conn.scalar(text("SELECT id FROM grid_plan WHERE community_code = :c"), {"c": home})
        grid = conn.scalar(text("SELECT code FROM grid ORDER BY code LIMIT 1"))
        building = conn.scalar(text("SELECT id FROM building ORDER BY id LIMIT 1"))
    engine.dispose()
    return {"code": home, "grid_code": grid, "plan_id": str(plan), "building_id": str(building)}


def test_a_few_hundred_fuzzed_cases_as_every_role_answer_no_500(world: World):  # noqa: F811
    tokens = {
        role: (client.headers.get("Authorization") or "")[7:] or None
        for role, client in world.clients.items()
        if role != "planner2"
    }
    with serving(world.url, WANGGE_LOOKUP_RATE_PER_MINUTE="0") as base:
        report = fuzz(
            base,
            tokens,
            CASES,
            known=_known(world.url, world.home),
            seed=0,
            skip=("/g/{code}/signboard.pdf",),  # seconds per PDF: tests/residents print it
            both=False,
        )
    report.print()
    assert report.cases >= CASES
    assert report.errors == []
    assert sum(n for status, n in report.statuses.items() if status in (200, 201, 204)) > 0


# Regression tests. The fuzzer found the first three answering 500: an integer beyond
# PostgreSQL's `integer` reached the database (NumericValueOutOfRange). The others carry the same
# kind of id, version or revision and were bounded in the same sweep (api.deps.PG_INT_MAX).

TOO_BIG = PG_INT_MAX + 1


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("planner", "GET", "/households?building={big}", None),
        ("worker", "GET", "/households/{big}", None),
        ("admin", "POST", "/rollback", {"version": "{big}", "reason": "fuzz"}),
        ("planner", "GET", "/plans/{big}", None),
        ("planner", "GET", "/plans/{plan}/buildings/{big}/neighbours", None),
        ("planner", "DELETE", "/plans/{plan}?revision={big}", None),
        (
            "planner",
            "POST",
            "/plans/{plan}/moves",
            {"building_ids": ["{big}"], "to_grid": 1, "revision": 1},
        ),
        ("planner", "POST", "/plans/{plan}/undo", {"revision": "{big}"}),
        (
            "planner",
            "PUT",
            "/plans/{plan}/grids/1/staff",
            {"posts": [{"staff_id": "{big}", "role": "grid_chief"}], "revision": "{big}"},
        ),
    ],
)
def test_integers_beyond_postgresql_are_422_not_500(world, role, method, path, body):  # noqa: F811
    plan = _known(world.url, world.home)["plan_id"]
    url = f"/api/v1/communities/{world.home}" + path.format(big=TOO_BIG, plan=plan)

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return TOO_BIG if value == "{big}" else value

    response = world.clients[role].request(method, url, json=fill(body) if body else None)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("path", ["/rollback", "/plans/{plan}/publish"])
def test_lone_surrogates_in_a_reason_are_not_500(world, path):  # noqa: F811
    plan = _known(world.url, world.home)["plan_id"]
    url = f"/api/v1/communities/{world.home}" + path.format(plan=plan)
    body = '{"version": 1, "revision": 1, "reason": "\\ud800 fuzz"}'
    response = world.clients["planner"].post(
        url, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text
