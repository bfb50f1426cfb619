"""Helpers shared by the sub-commands: settings, the database, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from data.db import DatabaseUnavailable, check_reachable, make_engine, resolve_url
from data.settings import Settings

console = Console(stderr=True, soft_wrap=True)
"""Where the commands report; a message is one line that the terminal wraps, so a path or an
EPSG code in it is never broken by a newline (a pipe is 80 columns wide to Rich)."""


class UserError(Exception):
    """Something the user can fix; printed as one line, exit code 2."""


class CommandFailed(Exception):
    """The command was right but could not be carried out (the database is down); printed as
    one line, exit code 1."""


def database_url(settings: Settings) -> str:
    """Resolve the database, starting the local cluster when no DATABASE_URL is set."""
    try:
        return resolve_url(settings)
    except DatabaseUnavailable as exc:
        raise CommandFailed(f"无法启动本机 PostGIS（{exc}）；也可以设置 DATABASE_URL") from exc


def connect(settings: Settings) -> Engine:
    """An engine to a database that answers, or a one-line CommandFailed naming DATABASE_URL."""
    url = database_url(settings)
    engine = make_engine(url)
    try:
        check_reachable(engine)
    except DatabaseUnavailable as exc:
        source = "DATABASE_URL" if settings.database_url else "本机 PostGIS"
        raise CommandFailed(
            f"通过 {source} 连不上数据库（{exc}）；请确认数据库服务器在运行、"
            "DATABASE_URL 指向它（postgresql://用户@主机:端口/库名），"
            "或者不设 DATABASE_URL，改用项目自带的本机 PostGIS"
        ) from exc
    return engine


@contextmanager
def progress() -> Iterator[Callable[[str, int, int], None]]:
    """Rich progress bars for long work: yields the ``(stage, done, total)`` callback that
    ``data`` functions take, one bar per stage."""
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield report
