"""``wangge user``: staff accounts."""

from __future__ import annotations

import typer

from api.cli import zh
from api.cli.common import UserError, connect, console
from data.access.accounts import create_account
from data.db import transaction
from data.models import AccountRole
from data.settings import Settings

app = zh.Typer(help="管理工作人员账号。", no_args_is_help=True)


@app.command(help="新建账号，权限限于一个街道办、一个社区或一名网格员。")
def add(
    username: str = typer.Argument(..., help="登录名"),
    role: AccountRole = typer.Option(
        ...,
        help="角色：admin（管理员）、street_planner（街道规划员）、"
        "community_planner（社区规划员）、grid_worker（网格员）",
    ),
    password: str = typer.Option(
        None, envvar="WANGGE_NEW_PASSWORD", help="密码；不填则提示输入两次（输入不显示）"
    ),
    name: str = typer.Option(None, help="显示的姓名"),
    street: str = typer.Option(None, help="街道办代码（街道规划员）"),
    community: str = typer.Option(None, help="社区代码（社区规划员）"),
    staff: int = typer.Option(None, help="网格员的人员编号（网格员）"),
) -> None:
    """The password is asked here rather than by Typer's prompt, whose mismatch message is
    English."""
    password = password if password is not None else _ask_password()
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

    console.print(f"账号 {username}（{role.value}）已建好。")


def _ask_password() -> str:
    password: str = typer.prompt("密码", hide_input=True)
    if typer.prompt("再输入一次", hide_input=True) != password:
        raise UserError("两次输入的密码不一致")
    return password
