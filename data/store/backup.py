"""Backups of the Wangge database with PostgreSQL's own tools (``pg_dump -Fc`` / ``pg_restore``).

A backup is written to a temporary file beside the target and renamed when complete, so a
backup cut short never leaves a truncated file under the name asked for. A restore goes into
an empty database (created when missing) in one transaction: it is all there or none of it.
Restoring over data is refused unless the caller forces it, which first drops the database's
schemas and all they hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from data.db import connect_failure
from data.settings import libpq_url
from data.store.cluster import PG_BIN

Progress = Callable[[str, int, int], None]
"""A callback ``(stage, done, total)``."""

MAGIC = b"PGDMP"  # the first bytes of every pg_dump custom-format archive
# What pg_dump/pg_restore --verbose print as they reach each table's rows.
_DUMPING = re.compile(r'dumping contents of table "?([\w.]+)"?')
_RESTORING = re.compile(r"processing data for table \"?([\w.\"]+)\"?")


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message is one line for the operator."""


class BackupUnreachable(BackupError):
    """The database could not be reached: a run-time failure, not a mistake in the command."""


class NotEmpty(BackupError):
    """The target database already holds tables."""


@dataclass(frozen=True)
class Done:
    path: Path
    database: str
    tables: int
    bytes: int
    seconds: float


def _tool(name: str) -> str:
    path = PG_BIN / name
    if not path.exists():
        raise BackupError(f"找不到 {path}：请安装 postgresql-client-15")
    return str(path)


def _where(url: str) -> str:
    """The database named without its password, for messages."""
    return libpq_url(make_url(url).render_as_string(hide_password=True))


def _connect(url: str, dbname: str | None = None) -> psycopg.Connection:
    target = make_url(url)
    if dbname is not None:
        target = target.set(database=dbname)
    try:
        return psycopg.connect(
            libpq_url(target.render_as_string(hide_password=False)),
            autocommit=True,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        raise BackupUnreachable(f"连不上数据库 {_where(url)}（{connect_failure(exc)}）") from exc


def user_tables(conn: psycopg.Connection) -> list[str]:
    """Tables outside the system schemas that no extension owns (PostGIS's are not ours)."""
    rows = conn.execute(
        """
        SELECT n.nspname || '.' || c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1
        """
    ).fetchall()
    return [r[0] for r in rows]


def _schemas(conn: psycopg.Connection) -> list[str]:
    """The database's own schemas (``public`` and any the migrations made)."""
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', "
        "'information_schema') AND nspname NOT LIKE 'pg\\_%' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _run(command: list[str], pattern: re.Pattern, total: int, stage: str, step: Progress) -> None:
    """Run a pg tool with --verbose, advancing the progress at each table it reaches."""
    done = 0
    step(stage, done, total)
    errors: list[str] = []
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            if pattern.search(line):
                done = min(done + 1, total)
                step(stage, done, total)
            elif "error" in line.lower() or "fatal" in line.lower():
                errors.append(line.strip())
    if proc.returncode != 0:
        first = errors[0] if errors else f"退出码 {proc.returncode}"
        raise BackupError(f"{Path(command[0]).name} 运行失败：{first}")
    step(stage, total, total)


def backup(url: str, path: Path, progress: Progress | None = None) -> Done:
    """Write the whole database at ``url`` to ``path`` as a pg_dump custom-format archive."""
    step = progress or (lambda *a: None)
    started = time.perf_counter()
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}：文件夹不存在")
    with _connect(url) as conn:
        tables = len(user_tables(conn))
    partial = path.with_name(f".{path.name}.partial")
    command = [
        _tool("pg_dump"),
        "--format=custom",
        "--verbose",
        f"--file={partial}",
        f"--dbname={libpq_url(url)}",
    ]
    try:
        _run(command, _DUMPING, tables, "正在备份各表", step)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return Done(
        path,
        _where(url),
        tables,
        path.stat().st_size,
        time.perf_counter() - started,
    )


def archive_tables(path: Path) -> int:
    """How many tables' rows the archive holds; refuses files that are not pg_dump archives."""
    if not path.is_file():
        raise BackupError(f"{path}：文件不存在")
    with path.open("rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{path}：不是 `wangge backup` 写出的备份文件（`pg_dump -Fc` 格式）")
    listing = subprocess.run(
        [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        lines = listing.stderr.strip().splitlines()
        reason = lines[-1] if lines else "pg_restore"
        raise BackupError(f"{path}：备份文件已损坏，无法读取（{reason}）")
    return sum(" TABLE DATA " in line for line in listing.stdout.splitlines())


def _ensure_database(url: str) -> bool:
    """Create the database named by ``url`` when it does not exist; True if created."""
    name = make_url(url).database
    if name is None:
        raise BackupError("数据库 URL 里没有写库名")
    try:
        _connect(url).close()
        return False
    except BackupError as exc:
        if "does not exist" not in str(exc.__cause__):  # libpq's own words
            raise
    with _connect(url, "postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def restore(url: str, path: Path, *, force: bool = False, progress: Progress | None = None) -> Done:
    """Restore an archive into the database at ``url`` (created when missing), in one
    transaction. A database holding tables is refused unless ``force``, which first drops
    its schemas (``public`` and the others the migrations made) with all they hold."""
    step = progress or (lambda *a: None)
    started = time.perf_counter()
    tables = archive_tables(path)
    _ensure_database(url)
    with _connect(url) as conn:
        present = user_tables(conn)
        if present and not force:
            raise NotEmpty(
                f"数据库 {_where(url)} 不是空库（已有 {len(present)} 张表，如 {present[0]}）；"
                "请恢复到空库，或加 --force 先删除其中原有的全部数据再恢复"
            )
        if present:
            for schema in _schemas(conn):
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA IF NOT EXISTS public")
    command = [
        _tool("pg_restore"),
        "--verbose",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={libpq_url(url)}",
        str(path),
    ]
    _run(command, _RESTORING, tables, "正在恢复各表", step)
    return Done(path, _where(url), tables, path.stat().st_size, time.perf_counter() - started)
