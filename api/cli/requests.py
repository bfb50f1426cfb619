"""``wangge requests``: the clock-driven chores of the work loop, for cron or by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from api.cli import zh
from api.cli.common import connect
from data.db import transaction
from data.requests.workflow import escalate_overdue, purge_personal
from data.settings import Settings

app = zh.Typer(help="居民诉求：超时上报与到期清理（供定时任务或手动运行）。", no_args_is_help=True)


@app.command(help="把超过办理时限、仍未办结的诉求上报一级（先社区，再街道）。")
def escalate() -> None:
    settings = Settings()
    with transaction(connect(settings)) as session:
        moved = escalate_overdue(session, datetime.now(UTC), settings.request_sla_hours)
    typer.echo(f"已上报 {moved} 件超时诉求")


@app.command(help="删除办结已超过保留期的诉求中的电话和照片。")
def purge(
    days: int = typer.Option(
        None, help="保留天数（默认取 WANGGE_REQUEST_RETENTION_DAYS，即 3 年）"
    ),
) -> None:
    settings = Settings()
    with transaction(connect(settings)) as session:
        purged = purge_personal(
            session,
            datetime.now(UTC),
            days if days is not None else settings.request_retention_days,
        )
    typer.echo(f"已清除 {purged} 件已办结诉求中的个人信息")
