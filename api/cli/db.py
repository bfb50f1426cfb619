"""``wangge db``: the local PostGIS cluster and the schema."""

from __future__ import annotations

import typer

from api.cli.common import UserError, connect, console
from data.db import local_cluster
from data.settings import Settings
from data.store import migrate

app = typer.Typer(help="Start, stop and migrate the database.", no_args_is_help=True)


@app.command()
def start() -> None:
    """Start the project-local PostGIS (created on first use) unless DATABASE_URL is set."""
    settings = Settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: nothing to start.")
        return
    engine = connect(settings)
    console.print(f"local PostGIS running: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def stop() -> None:
    """Stop the project-local PostGIS."""
    cluster = local_cluster(Settings())
    if cluster.stop():
        console.print("local PostGIS stopped.")
    else:
        console.print("local PostGIS was not running.")


@app.command()
def status() -> None:
    """Say which database Wangge uses and whether it answers."""
    settings = Settings()
    if settings.database_url:
        connect(settings)
        console.print("DATABASE_URL: reachable")
        return
    cluster = local_cluster(settings)
    running = cluster.is_running()
    console.print(f"local PostGIS at {cluster.datadir}: {'running' if running else 'stopped'}")
    if not running:
        raise typer.Exit(1)


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Alembic revision to migrate to."),
) -> None:
    """Run the Alembic migrations."""
    engine = connect(Settings())
    try:
        migrate.upgrade(engine.url.render_as_string(hide_password=False), revision)
    except Exception as exc:  # alembic reports unknown revisions as generic errors
        raise UserError(f"migration to {revision!r} failed: {exc}") from exc
    console.print(f"schema at {revision}.")
