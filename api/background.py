"""Work the app does on a clock: escalating overdue requests.

One asyncio task per server process runs :func:`data.requests.workflow.escalate_overdue` every
``every_s`` seconds in a worker thread; rows another process is escalating are skipped (``SKIP
LOCKED``), so several processes never escalate a request twice. ``wangge requests escalate``
does the same once, from cron or by hand.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from data.requests.workflow import escalate_overdue

log = logging.getLogger("wangge")


def escalate_now(app: FastAPI) -> int:
    """One escalation pass on the app's database; returns how many requests moved."""
    with app.state.sessions() as session:
        moved = escalate_overdue(session, datetime.now(UTC), app.state.settings.request_sla_hours)
        session.commit()
    return moved


def escalator(app: FastAPI, every_s: int) -> asyncio.Task | asyncio.Future:
    """Start the periodic escalation (a finished no-op future when ``every_s`` is 0)."""
    if every_s <= 0:
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                moved = await run_in_threadpool(escalate_now, app)
                if moved:
                    log.info("escalated %d overdue requests", moved)
            except Exception:  # the database may be down; try again next round
                log.warning("escalation pass failed", exc_info=True)

    return asyncio.create_task(loop())
