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
    file: Path = typer.Argument(..., help="要写出的备份文件（PostgreSQL 自定义格式）"),
) -> None:
    url = database_url(Settings())
    with progress() as step:
        done = backup(url, file, step)

    console.print(
        f"已备份 {done.database}：{done.tables} 张表，{_size(done.bytes)}，"
        f"用时 {done.seconds:.1f} 秒 → {done.path}"
    )


def restore_command(
    file: Path = typer.Argument(..., help="wangge backup 写出的备份文件"),
    force: bool = typer.Option(False, "--force", help="数据库不空时也恢复：先删除其中原有的表"),
) -> None:
    if not file.is_file():
        raise UserError(f"{file}：文件不存在")
    url = database_url(Settings())
    with progress() as step:
        done = restore(url, file, force=force, progress=step)

    console.print(
        f"已从 {done.path} 恢复 {done.tables} 张表到 {done.database}，用时 {done.seconds:.1f} 秒"
    )


def register(app: typer.Typer) -> None:
    app.command(
        "backup", help="把 Wangge 使用的数据库（DATABASE_URL 或本机 PostGIS）整库备份到文件。"
    )(backup_command)
    app.command(
        "restore",
        help="把备份文件恢复到 Wangge 使用的数据库"
        "（数据库不存在时新建；须为空库，除非加 --force）。",
    )(restore_command)
