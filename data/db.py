"""Finding, reaching and preparing the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from data.settings import Settings, libpq_url, sqlalchemy_url
from data.store.cluster import ClusterError, LocalCluster, LocalStandby


class DatabaseUnavailable(RuntimeError):
    """The database named by the settings cannot be reached."""


CONNECT_FAILURES = [
    (r'database "(?P<name>[^"]+)" does not exist', "数据库 {name} 不存在"),
    (r'role "(?P<name>[^"]+)" does not exist', "数据库用户 {name} 不存在"),
    (r'password authentication failed for user "(?P<name>[^"]+)"', "数据库用户 {name} 的密码不对"),
    (r"no password supplied", "没有提供密码"),
    (r"Connection refused", "连接被拒绝：这个地址和端口上没有数据库服务器在运行"),
    (r"timeout expired", "连接超时"),
    (r"failed to resolve host '(?P<name>[^']+)'", "无法解析主机名 {name}"),
    (r'could not translate host name "(?P<name>[^"]+)"', "无法解析主机名 {name}"),
]
"""libpq's and psycopg's usual reasons for a failed connection, and their Chinese."""


def connect_failure(exc: BaseException) -> str:
    """Why a connection failed, in one line: in Chinese for the usual causes (server down,
    no such database or user, wrong password, unknown host, timeout), else the driver's own
    first line."""
    message = str(exc).strip()
    for pattern, chinese in CONNECT_FAILURES:
        found = re.search(pattern, message)
        if found:
            return chinese.format(**found.groupdict())
    return message.splitlines()[0] if message else type(exc).__name__


def local_cluster(settings: Settings) -> LocalCluster:
    return LocalCluster(root=settings.var_dir / "pg", port=settings.local_pg_port)


def local_standby(settings: Settings) -> LocalStandby:
    """The local cluster's hot standby (``wangge db replica``), in ``var/pg-replica``."""
    port = settings.local_replica_port or settings.local_pg_port + 1
    return LocalStandby(
        root=settings.var_dir / "pg-replica", port=port, primary=local_cluster(settings)
    )


def resolve_url(settings: Settings, *, start_local: bool = True) -> str:
    """The SQLAlchemy URL to use: ``DATABASE_URL``, or the project-local cluster.

    With no ``DATABASE_URL`` the local cluster is started (and created) when needed, and its
    database created when missing.
    """
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    cluster = local_cluster(settings)
    if start_local:
        try:
            cluster.ensure_running()
        except ClusterError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        create_database(cluster.url("postgres"), settings.local_db_name)
    return cluster.url(settings.local_db_name)


def create_database(admin_url: str, name: str) -> bool:
    """Create database ``name`` through ``admin_url`` unless it exists; True if created."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def make_engine(url: str, **kwargs) -> Engine:
    """An engine that checks connections before use, so a restarted server is survived."""
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
        **kwargs,
    )


def check_reachable(engine: Engine) -> None:
    """Raise DatabaseUnavailable with a one-line reason when the server does not answer."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver failure means the same thing to the caller
        raise DatabaseUnavailable(connect_failure(getattr(exc, "orig", exc))) from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits as a whole or not at all."""
    with session_factory(engine)() as session, session.begin():
        yield session
