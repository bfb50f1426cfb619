"""``wangge backup`` and ``wangge restore``: the whole database with pg_dump / pg_restore."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.common import UserError, console, database_url, progress
from data.settings import Settings
from data.store.backup import backup, restore


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def backup_command(
    file: Path = typer.Argument(..., help="archive to write (pg_dump custom format)"),
) -> None:
    """Back up the database Wangge uses (DATABASE_URL or the local PostGIS) to FILE."""
    url = database_url(Settings())
    with progress() as step:
        done = backup(url, file, step)

    console.print(
        f"backed up {done.database}: {done.tables} tables, {_size(done.bytes)} "
        f"in {done.seconds:.1f} s → {done.path}"
    )


def restore_command(
    file: Path = typer.Argument(..., help="archive written by `wangge backup`"),
    force: bool = typer.Option(
        False, "--force", help="replace what a non-empty database holds (drops its tables)"
    ),
) -> None:
    """Restore FILE into the database Wangge uses (created when missing; must be empty)."""
    if not file.is_file():
        raise UserError(f"{file}: no such file")
    url = database_url(Settings())
    with progress() as step:
        done = restore(url, file, force=force, progress=step)

    console.print(
        f"restored {done.tables} tables from {done.path} into {done.database} "
        f"in {done.seconds:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
