"""``wangge db``: the local PostGIS cluster and the schema."""

from __future__ import annotations

import typer

from api.cli.common import UserError, connect, console
from data.db import local_cluster, local_standby
from data.settings import Settings
from data.store import migrate
from data.store.cluster import ClusterError

app = typer.Typer(help="Start, stop and migrate the database.", no_args_is_help=True)
replica = typer.Typer(
    help="A local hot standby of the project-local PostGIS, for WANGGE_REPLICA_URL.",
    no_args_is_help=True,
)
app.add_typer(replica, name="replica")


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


def _local_standby(settings: Settings):
    if settings.database_url:
        raise UserError(
            "DATABASE_URL is set: make the standby of that server with its own tools "
            "(pg_basebackup -R) and name it in WANGGE_REPLICA_URL"
        )
    return local_standby(settings)


@replica.command("start")
def replica_start() -> None:
    """Clone the local PostGIS into a hot standby (pg_basebackup -R, first time) and start it."""
    settings = Settings()
    standby = _local_standby(settings)
    connect(settings)  # the primary runs, migrated or not
    try:
        standby.ensure_running()
    except ClusterError as exc:
        raise UserError(f"cannot start the local standby ({exc})") from exc
    url = standby.url(settings.local_db_name).replace("postgresql+psycopg://", "postgresql://")
    console.print(f"local standby running at {standby.datadir}")
    console.print(f"serve public reads from it with: WANGGE_REPLICA_URL={url}")


@replica.command("stop")
def replica_stop() -> None:
    """Stop the local standby (its folder stays; start resumes streaming)."""
    standby = _local_standby(Settings())
    console.print("local standby stopped." if standby.stop() else "local standby was not running.")


@replica.command("status")
def replica_status() -> None:
    """Whether the local standby runs, and how far behind the primary it is."""
    from data.replicas import describe_standby

    settings = Settings()
    standby = _local_standby(settings)
    if not standby.is_running():
        console.print(f"local standby at {standby.datadir}: stopped")
        raise typer.Exit(1)
    url = standby.url(settings.local_db_name)
    console.print(f"local standby at {standby.datadir}: running, {describe_standby(url)}")
