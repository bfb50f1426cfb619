"""Requests racing each other on one community's plans answer 2xx/404/409, never 500
(issue 13, item 4): eight planners opening the draft at once all get the one draft; an edit
racing the draft's deletion is 404 (or 409), not "Could not refresh instance"."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy.orm import Session

from data.db import make_engine
from data.models import GridPlan
from data.plans.versions import PlanNotFound, discard_draft, lock_for_edit, start_draft
from tests.conftest import serving
from tests.planning.conftest import World

OPENERS = 8


def _together(calls: list) -> list[httpx.Response]:
    """Run the calls in threads released at one moment; their answers in order."""
    start, answers = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        start.wait(timeout=60)
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return answers


def _client(base: str, world: World, role: str = "planner") -> httpx.Client:
    headers = {"Authorization": world.clients[role].headers["Authorization"]}
    return httpx.Client(base_url=base, headers=headers, timeout=300)


def test_planners_opening_the_draft_at_once_all_get_the_one_draft(world: World) -> None:
    url = f"/api/v1/communities/{world.home}/drafts"
    with serving(world.url) as base:
        clients = [_client(base, world) for _ in range(OPENERS)]
        answers = _together([lambda c=c: c.post(url) for c in clients])
    assert [a.status_code for a in answers] == [201] * OPENERS, [a.text for a in answers]
    assert len({a.json()["plan"]["id"] for a in answers}) == 1
    drafts = world.sql(
        "SELECT count(*) FROM grid_plan WHERE community_code = :c AND status = 'draft'",
        c=world.home,
    )
    assert drafts[0][0] == 1
    started = world.sql("SELECT count(*) FROM audit_log WHERE action = 'draft_started'")
    assert started[0][0] == 1


@pytest.mark.parametrize("edit", ["rebalance", "divide"])
def test_an_edit_racing_the_drafts_deletion_is_404_or_409(world: World, edit: str) -> None:
    prefix = f"/api/v1/communities/{world.home}"
    with serving(world.url) as base:
        editor, discarder = _client(base, world), _client(base, world, "planner2")
        for _ in range(3):
            plan = editor.post(f"{prefix}/drafts").json()["plan"]
            answers = _together(
                [
                    lambda p=plan: editor.post(
                        f"{prefix}/plans/{p['id']}/{edit}", json={"revision": p["revision"]}
                    ),
                    lambda p=plan: discarder.delete(
                        f"{prefix}/plans/{p['id']}", params={"revision": p["revision"]}
                    ),
                ]
            )
            codes = [a.status_code for a in answers]
            assert codes[0] in (200, 404, 409) and codes[1] in (204, 409), [a.text for a in answers]
            if codes[1] == 409:  # the edit won: discard what it left
                current = editor.get(f"{prefix}/plans/{plan['id']}").json()["plan"]
                editor.delete(f"{prefix}/plans/{plan['id']}", params=current)


def test_locking_a_draft_deleted_meanwhile_is_plan_not_found(world: World) -> None:
    engine = make_engine(world.url)
    with Session(engine) as editor, Session(engine) as other:
        draft = start_draft(editor, world.home, "test")
        editor.commit()
        loaded = editor.get(GridPlan, draft.id)  # as the route's dependency loads it
        discard_draft(other, other.get(GridPlan, draft.id), loaded.revision, "other")
        other.commit()
        with pytest.raises(PlanNotFound, match="已被其他规划人员删除"):
            lock_for_edit(editor, loaded, loaded.revision)
    engine.dispose()
