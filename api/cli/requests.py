"""``wangge requests``: the clock-driven chores of the work loop, for cron or by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from api.cli.common import connect
from data.db import transaction
from data.requests.workflow import escalate_overdue, purge_personal
from data.settings import Settings

app = typer.Typer(help="Residents' requests: escalation and retention.", no_args_is_help=True)


@app.command()
def escalate() -> None:
    """Escalate every open request past its time limit one level (community, then street)."""
    settings = Settings()
    with transaction(connect(settings)) as session:
        moved = escalate_overdue(session, datetime.now(UTC), settings.request_sla_hours)
    typer.echo(f"escalated {moved} overdue requests")


@app.command()
def purge(
    days: int = typer.Option(
        None, help="Retention in days (default WANGGE_REQUEST_RETENTION_DAYS, 3 years)."
    ),
) -> None:
    """Drop the phone and photos of requests closed longer ago than the retention period."""
    settings = Settings()
    with transaction(connect(settings)) as session:
        purged = purge_personal(
            session,
            datetime.now(UTC),
            days if days is not None else settings.request_retention_days,
        )
    typer.echo(f"purged personal fields of {purged} closed requests")
