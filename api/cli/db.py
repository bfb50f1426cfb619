"""``wangge db``: the local PostGIS cluster and the schema."""

from __future__ import annotations

import typer

from api.cli import zh
from api.cli.common import UserError, connect, console
from data.db import local_cluster, local_standby
from data.settings import Settings
from data.store import migrate
from data.store.cluster import ClusterError

app = zh.Typer(help="启动、停止数据库，升级数据库结构。", no_args_is_help=True)
replica = zh.Typer(
    help="本机 PostGIS 的热备库（只读副本），供 WANGGE_REPLICA_URL 使用。",
    no_args_is_help=True,
)
app.add_typer(replica, name="replica")


@app.command(help="启动项目自带的本机 PostGIS（首次使用时创建）；已设 DATABASE_URL 时不做任何事。")
def start() -> None:
    settings = Settings()
    if settings.database_url:
        console.print("已设置 DATABASE_URL：无需启动。")
        return
    engine = connect(settings)
    console.print(f"本机 PostGIS 已运行：{engine.url.render_as_string(hide_password=True)}")


@app.command(help="停止本机 PostGIS。")
def stop() -> None:
    cluster = local_cluster(Settings())
    if cluster.stop():
        console.print("本机 PostGIS 已停止。")
    else:
        console.print("本机 PostGIS 本来就没有运行。")


@app.command(help="显示 Wangge 使用哪个数据库，以及它能否连上（未运行时退出码为 1）。")
def status() -> None:
    settings = Settings()
    if settings.database_url:
        connect(settings)
        console.print("DATABASE_URL：可以连上")
        return
    cluster = local_cluster(settings)
    running = cluster.is_running()
    console.print(f"本机 PostGIS（{cluster.datadir}）：{'运行中' if running else '未运行'}")
    if not running:
        raise typer.Exit(1)


@app.command(help="把数据库结构升级（迁移）到指定版本。")
def upgrade(
    revision: str = typer.Argument("head", help="目标版本号；`head` 为最新版本"),
) -> None:
    """Run the Alembic migrations."""
    engine = connect(Settings())
    try:
        migrate.upgrade(engine.url.render_as_string(hide_password=False), revision)
    except Exception as exc:  # alembic reports unknown revisions as generic errors
        raise UserError(f"升级到版本 {revision!r} 失败：{exc}") from exc
    console.print(f"数据库结构已是版本 {revision}。")


def _local_standby(settings: Settings):
    if settings.database_url:
        raise UserError(
            "已设置 DATABASE_URL：请用该服务器自己的工具（pg_basebackup -R）建热备库，"
            "再把它写进 WANGGE_REPLICA_URL"
        )
    return local_standby(settings)


@replica.command("start", help="把本机 PostGIS 复制成热备库（仅第一次）并启动它。")
def replica_start() -> None:
    """Clone with pg_basebackup -R the first time, then start the standby."""
    settings = Settings()
    standby = _local_standby(settings)
    connect(settings)  # the primary runs, migrated or not
    try:
        standby.ensure_running()
    except ClusterError as exc:
        raise UserError(f"无法启动本机热备库（{exc}）") from exc
    url = standby.url(settings.local_db_name).replace("postgresql+psycopg://", "postgresql://")
    console.print(f"本机热备库已运行：{standby.datadir}")
    console.print(f"让公开查询读它，请设置：WANGGE_REPLICA_URL={url}")


@replica.command("stop", help="停止本机热备库（文件夹保留，再次 start 时接着同步）。")
def replica_stop() -> None:
    standby = _local_standby(Settings())
    console.print("本机热备库已停止。" if standby.stop() else "本机热备库本来就没有运行。")


@replica.command("status", help="显示本机热备库是否运行，以及落后主库多少（未运行时退出码为 1）。")
def replica_status() -> None:
    from data.replicas import describe_standby

    settings = Settings()
    standby = _local_standby(settings)
    if not standby.is_running():
        console.print(f"本机热备库（{standby.datadir}）：未运行")
        raise typer.Exit(1)
    url = standby.url(settings.local_db_name)
    console.print(f"本机热备库（{standby.datadir}）：运行中，{describe_standby(url)}")
