"""/healthz and /api/v1/stats against the real fixture database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.routes.stats import Stats


def test_healthz_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_says_when_database_is_unreachable() -> None:
    app = create_app(database_url="postgresql://nobody@127.0.0.1:9/nothing")
    with TestClient(app) as client:
        response = client.get("/healthz")
        stats = client.get("/api/v1/stats")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert stats.status_code == 503
    assert "数据库" in stats.json()["detail"]  # Chinese only


def test_stats_counts_match_the_database(client: TestClient, session: Session) -> None:
    response = client.get("/api/v1/stats")
    assert response.status_code == 200
    stats = Stats.model_validate(response.json())
    for table, field in [
        ("community", "communities"),
        ("building", "buildings"),
        ("household", "households"),
        ("compound", "compounds"),
        ("staff", "staff"),
        ("street_office", "street_offices"),
    ]:
        count = session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        assert getattr(stats, field) == count
    assert stats.communities == 1
    assert stats.households > 2000
    assert 0 < stats.grids_out_of_band < stats.grids


def test_the_front_door_is_the_residents_page(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/find"
