"""Overdue requests escalate on a clock the test controls: past the category's time limit to
the community, after another to the street office, never further, and never when closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from data.db import make_engine
from data.requests.workflow import escalate_overdue
from data.settings import Settings
from tests.work.conftest import Work

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SLA = Settings().request_sla_hours


def _escalate(work: Work, at: datetime) -> int:
    engine = make_engine(work.url)
    with Session(engine) as session, session.begin():
        moved = escalate_overdue(session, at, SLA)
    engine.dispose()
    return moved


def test_overdue_requests_escalate_to_the_community_then_the_street(work: Work) -> None:
    work.app.state.clock = lambda: T0
    open_code = work.report(work.in_a, category="安全隐患").json()["code"]  # 24 h
    done_code = work.report(work.in_a, category="安全隐患").json()["code"]
    worker = work.clients["worker_a"]
    worker.post(f"/api/v1/requests/{done_code}/accept")
    worker.post(f"/api/v1/requests/{done_code}/close", data={"result": "已处理"})

    assert _escalate(work, T0 + timedelta(hours=23)) == 0
    assert _escalate(work, T0 + timedelta(hours=25)) == 1
    level, state = work.sql(
        "SELECT level, state FROM service_request WHERE code = :c", c=open_code
    )[0]
    assert (level, state) == (1, "dispatched")
    work.app.state.clock = lambda: T0 + timedelta(hours=26)
    queue = work.clients["dispatcher"].get("/api/v1/requests").json()
    assert [(r["code"], r["level_label"]) for r in queue] == [(open_code, "社区督办")]
    assert work.clients["worker_a"].get("/api/v1/requests").json()[0]["overdue"] is False

    assert _escalate(work, T0 + timedelta(hours=40)) == 0  # new limit: 25 h + 24 h
    assert _escalate(work, T0 + timedelta(hours=50)) == 1
    assert _escalate(work, T0 + timedelta(hours=500)) == 0  # the street office is the top
    assert work.sql("SELECT level FROM service_request WHERE code = :c", c=open_code) == [(2,)]
    notes = work.clients["anonymous"].get(f"/api/v1/requests/track/{open_code}").json()
    assert [s["note"] for s in notes["steps"] if s["action"] == "超时升级"] == [
        "已超时，升级至社区督办",
        "已超时，升级至街道督办",
    ]
    assert work.sql("SELECT level FROM service_request WHERE code = :c", c=done_code) == [(0,)]


def test_the_cli_escalates_once(work: Work, monkeypatch) -> None:
    from data.settings import libpq_url

    work.app.state.clock = lambda: T0
    work.report(work.in_a)
    monkeypatch.setenv("DATABASE_URL", libpq_url(work.url))
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, ["requests", "escalate"])
    assert result.exit_code == 0, result.output
    assert "已上报 1 件超时诉求" in result.output
