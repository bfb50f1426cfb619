"""``wangge user``: staff accounts."""

from __future__ import annotations

import typer

from api.cli.common import connect, console
from data.access.accounts import create_account
from data.db import transaction
from data.models import AccountRole
from data.settings import Settings

app = typer.Typer(help="Manage staff accounts.", no_args_is_help=True)


@app.command()
def add(
    username: str = typer.Argument(..., help="Login name."),
    role: AccountRole = typer.Option(
        ..., help="admin, street_planner, community_planner or grid_worker."
    ),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="WANGGE_NEW_PASSWORD",
        help="Password (prompted; or WANGGE_NEW_PASSWORD).",
    ),
    name: str = typer.Option(None, help="Display name."),
    street: str = typer.Option(None, help="Street office code (street planners)."),
    community: str = typer.Option(None, help="Community code (community planners)."),
    staff: int = typer.Option(None, help="Staff record id (grid workers)."),
) -> None:
    """Create an account scoped to a street office, a community or a staff record."""
    engine = connect(Settings())
    with transaction(engine) as session:
        create_account(
            session,
            username,
            password,
            role,
            display_name=name,
            street_code=street,
            community_code=community,
            staff_id=staff,
        )

    console.print(f"account {username} ({role.value}) created.")
