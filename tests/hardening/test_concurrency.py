"""Two planners editing one draft at the same time, against a real uvicorn.

Each planner makes 20 edits (moves of a building into a neighbouring grid), each sent with the
revision that planner last read; both send each edit at the same moment. Every accepted edit
must be in the draft's history, the audit log and the end state; every rejected one must be a
409 naming the other planner; and no update may be lost: the revision counts the accepted edits,
and the draft's buildings sit where the last accepted move of each put them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import httpx
import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from data.access.accounts import create_account
from data.db import make_engine
from data.models import AccountRole
from data.settings import libpq_url
from tests.conftest import serving

PASSWORD = "correct horse battery"
EDITS = 20
PLANNERS = ("planner_a", "planner_b")


@dataclass
class Outcome:
    accepted: list[dict] = field(default_factory=list)  # {revision, building, to_grid}
    rejected: list[dict] = field(default_factory=list)  # the 409 bodies
    other: list[tuple[int, str]] = field(default_factory=list)


def _accounts(url: str) -> str:
    engine = make_engine(url, poolclass=NullPool)
    with Session(engine) as session, session.begin():
        community = session.scalar(text("SELECT code FROM community ORDER BY code LIMIT 1"))
        for name in PLANNERS:
            create_account(
                session, name, PASSWORD, AccountRole.community_planner, community_code=community
            )
    engine.dispose()
    return community


def _client(base: str, username: str) -> httpx.Client:
    token = httpx.post(
        base + "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    ).json()["token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _draft_buildings(url: str, plan: int) -> list[int]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT DISTINCT building_id FROM grid_member WHERE plan_id = %s ORDER BY 1", (plan,)
        ).fetchall()
    return [r[0] for r in rows]


def test_two_planners_editing_one_draft_lose_no_update(isolated_url):
    community = _accounts(isolated_url)
    with serving(isolated_url) as base:
        clients = {name: _client(base, name) for name in PLANNERS}
        prefix = f"/api/v1/communities/{community}"
        draft = clients["planner_a"].post(f"{prefix}/drafts")
        assert draft.status_code == 201, draft.text
        plan, start = draft.json()["plan"]["id"], draft.json()["plan"]["revision"]
        buildings = _draft_buildings(isolated_url, plan)
        together = threading.Barrier(len(PLANNERS))
        outcomes = {name: Outcome() for name in PLANNERS}

        def planner(name: str, seed: int) -> None:
            http, out, rng = clients[name], outcomes[name], random.Random(seed)
            for _ in range(EDITS):
                revision = http.get(f"{prefix}/plans/{plan}").json()["plan"]["revision"]
                while True:
                    building = rng.choice(buildings)
                    near = http.get(f"{prefix}/plans/{plan}/buildings/{building}/neighbours")
                    if near.status_code == 200 and near.json():
                        target = rng.choice(near.json())
                        break
                together.wait(timeout=120)
                answer = http.post(
                    f"{prefix}/plans/{plan}/moves",
                    json={"revision": revision, "building_ids": [building], "to_grid": target},
                )
                if answer.status_code == 200:
                    out.accepted.append(
                        {
                            "revision": answer.json()["plan"]["revision"],
                            "building": building,
                            "to_grid": target,
                        }
                    )
                elif answer.status_code == 409:
                    out.rejected.append(answer.json())
                else:
                    out.other.append((answer.status_code, answer.text))

        threads = [
            threading.Thread(target=planner, args=(name, i)) for i, name in enumerate(PLANNERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=170)
        assert not any(t.is_alive() for t in threads)

        accepted = sorted(
            (dict(edit, actor=name) for name in PLANNERS for edit in outcomes[name].accepted),
            key=lambda edit: edit["revision"],
        )
        # Every attempt was answered: accepted, or 409 naming the other planner.
        for name, out in outcomes.items():
            assert out.other == [], out.other
            assert len(out.accepted) + len(out.rejected) == EDITS
            other = next(p for p in PLANNERS if p != name)
            assert all(r["changed_by"] == other for r in out.rejected), out.rejected
        assert accepted and sum(len(o.rejected) for o in outcomes.values()) > 0
        # No lost update: each accepted edit made exactly one new revision.
        assert [e["revision"] for e in accepted] == list(
            range(start + 1, start + 1 + len(accepted))
        )
        final = clients["planner_b"].get(f"{prefix}/plans/{plan}").json()["plan"]
        assert final["revision"] == start + len(accepted)
        # Every accepted edit is in the history, newest first, under its author.
        history = clients["planner_a"].get(f"{prefix}/plans/{plan}/history").json()
        assert [(h["actor"], h["action"]) for h in reversed(history)] == [
            (e["actor"], "move") for e in accepted
        ]
        for entry, edit in zip(reversed(history), accepted, strict=True):
            assert f"楼栋 {edit['building']} 移入第{edit['to_grid']}网格" == entry["summary"]
        for http in clients.values():
            http.close()

    with psycopg.connect(libpq_url(isolated_url)) as conn:
        audited = conn.execute(
            "SELECT actor, (detail->>'revision')::int FROM audit_log "
            "WHERE action = 'move' AND object_id = %s ORDER BY id",
            (str(plan),),
        ).fetchall()
        where = dict(
            conn.execute(
                "SELECT m.building_id, g.number FROM grid_member m JOIN grid g ON g.id = m.grid_id "
                "WHERE m.plan_id = %s",
                (plan,),
            ).fetchall()
        )
    assert audited == [(e["actor"], e["revision"]) for e in accepted]
    # The end state holds the last accepted move of every building moved.
    last = {e["building"]: e["to_grid"] for e in accepted}
    assert {b: where[b] for b in last} == last
