"""The residents' lookup API against the fixture district (published plan only)."""

from __future__ import annotations

import pytest

from api.routes.lookup import LookupResult, NotFoundDetail
from data.settings import Settings
from geo.offsets import convert


def test_point_lookup(open_client, facts):
    lon, lat = facts.inside
    r = open_client.get("/api/v1/lookup", params={"lon": lon, "lat": lat})
    assert r.status_code == 200, r.text
    result = LookupResult.model_validate(r.json())
    assert result.grid.code == facts.grid_code
    assert result.grid.community.code == facts.grid_code[:12]
    roles = {s.role.value for s in result.staff}
    assert "grid_chief" in roles
    assert all(s.name for s in result.staff)
    assert result.boundary is None


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_point_lookup_in_phone_datums(open_client, facts, datum):
    lon, lat = facts.inside
    x, y = convert(lon, lat, "wgs84", datum)
    r = open_client.get(
        "/api/v1/lookup",
        params={"lon": float(x), "lat": float(y), "coordsys": datum, "geometry": "true"},
    )
    assert r.status_code == 200, r.text
    result = LookupResult.model_validate(r.json())
    assert result.grid.code == facts.grid_code
    assert result.coordsys.value == datum
    # the answer speaks the caller's datum: the boundary surrounds the point as sent
    x0, y0, x1, y1 = result.grid.bbox
    assert x0 <= float(x) <= x1 and y0 <= float(y) <= y1
    assert result.boundary["type"] == "MultiPolygon"


def test_address_lookup_by_road_and_door(open_client, facts):
    number = facts.door_number.removesuffix("号")
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for q in (f"{facts.road}{facts.door_number}", f"{facts.road} {full_width}"):
        r = open_client.get("/api/v1/lookup", params={"q": q})
        assert r.status_code == 200, (q, r.text)
        result = LookupResult.model_validate(r.json())
        assert result.grid.code == facts.building_grid, q
        assert result.building is not None and result.building.road == facts.road
        assert result.match is not None and result.match.exact


def test_address_lookup_by_compound_with_a_typo(open_client, facts):
    number = facts.building_name.removesuffix("栋")
    typo = facts.compound[:-1] + ("圆" if facts.compound[-1] != "圆" else "园")
    r = open_client.get("/api/v1/lookup", params={"q": f"{typo}{number}栋1单元"})
    assert r.status_code == 200, r.text
    result = LookupResult.model_validate(r.json())
    assert result.grid.code == facts.building_grid
    assert result.match.kind == "compound" and result.match.name == facts.compound


def test_unknown_address_is_404(open_client):
    r = open_client.get("/api/v1/lookup", params={"q": "火星大道999号"})
    assert r.status_code == 404
    assert "未找到" in r.json()["detail"]


def test_point_outside_every_grid_names_nearest_community(open_client):
    r = open_client.get("/api/v1/lookup", params={"lon": 108.0, "lat": 27.0})
    assert r.status_code == 404
    body = NotFoundDetail.model_validate(r.json())
    assert body.nearest_community is not None and body.nearest_community.name in body.detail
    assert body.distance_m > 50_000


def test_grid_card_by_code(open_client, facts):
    r = open_client.get(f"/api/v1/lookup/grids/{facts.grid_code}")
    assert r.status_code == 200
    result = LookupResult.model_validate(r.json())
    assert result.grid.code == facts.grid_code and result.boundary is not None
    assert open_client.get("/api/v1/lookup/grids/999999999999999").status_code == 404
    assert open_client.get("/api/v1/lookup/grids/abc").status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lon": 109.19},
        {"lon": 27.72, "lat": 109.19},  # swapped
        {"lon": 109.19, "lat": 95},
        {"lon": 500, "lat": 27.7},
        {"lon": "east", "lat": 27.7},
        {"lon": 109.19, "lat": 27.72, "coordsys": "wgs1984x"},
        {"q": ""},
        {"q": "   "},
        {"q": "碧江路1号" + "1" * 9_995},  # 10,000 characters
        {"q": "碧江路1号", "lon": 109.19, "lat": 27.72},
    ],
)
def test_bad_input_is_4xx_with_a_message(open_client, params):
    r = open_client.get("/api/v1/lookup", params=params)
    assert 400 <= r.status_code < 500, (params, r.status_code)
    assert r.json()["detail"]


def test_lookups_are_rate_limited_per_client(database_url, facts):
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(lookup_rate_per_minute=6, lookup_burst=3)
    lon, lat = facts.inside
    with TestClient(create_app(settings, database_url=database_url)) as client:
        codes = [
            client.get("/api/v1/lookup", params={"lon": lon, "lat": lat}).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [200, 200, 200]
        assert codes[3:] == [429, 429]
        r = client.get("/api/v1/lookup", params={"lon": lon, "lat": lat})
        assert int(r.headers["Retry-After"]) >= 1
        # another client (as a trusted proxy reports it) still gets answers
        other = client.get(
            "/api/v1/lookup",
            params={"lon": lon, "lat": lat},
            headers={"X-Forwarded-For": "10.1.2.3"},
        )
        assert other.status_code == 429  # not trusted by default: same client
