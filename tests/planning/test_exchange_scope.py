"""Exports and imports of staff and personal data hold the caller's scope; household exports
need a community planner of that community and a reason, and are audited."""

from __future__ import annotations

import io

import pyogrio

from tests.planning.conftest import World


def test_building_export_is_limited_to_the_planners_community(world: World, tmp_path) -> None:
    response = world.clients["planner"].get(
        "/api/v1/export", params={"layer": "buildings", "format": "geojson"}
    )
    assert response.status_code == 200, response.text
    path = tmp_path / "b.geojson"
    path.write_bytes(response.content)
    exported = len(pyogrio.read_dataframe(path))
    [(own,)] = world.sql("SELECT count(*) FROM building WHERE community_code = :c", c=world.home)
    assert exported == own
    other = world.clients["planner"].get(
        "/api/v1/export", params={"layer": "buildings", "area": world.other}
    )
    assert other.status_code == 403
    assert (
        world.clients["worker"].get("/api/v1/export", params={"layer": "buildings"}).status_code
        == 403
    )


def test_household_export_needs_the_community_planner_and_a_reason(world: World) -> None:
    params = {"layer": "households", "format": "csv"}
    for role in ("street", "worker", "admin"):
        response = world.clients[role].get("/api/v1/export", params=params)
        assert response.status_code == 403, role
    no_reason = world.clients["planner"].get("/api/v1/export", params=params)
    assert no_reason.status_code in (400, 403, 422)
    given = world.clients["planner"].get("/api/v1/export", params={**params, "reason": "入户走访"})
    assert given.status_code == 200, given.text
    [(audited,)] = world.sql(
        "SELECT count(*) FROM audit_log WHERE reason = '入户走访' AND actor LIKE '%planner%'",
    )
    assert audited == 1
    assert world.clients["anonymous"].get("/api/v1/export", params=params).status_code == 401


def test_import_into_another_community_is_refused(world: World) -> None:
    upload = {"file": ("b.geojson", io.BytesIO(b'{"type":"FeatureCollection","features":[]}'))}
    response = world.clients["planner"].post(
        "/api/v1/import/buildings", files=upload, data={"community": world.other}
    )
    assert response.status_code == 403
