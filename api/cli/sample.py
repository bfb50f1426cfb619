"""``wangge sample``: the sample district modelled on Bijiang, Tongren, or the whole city."""

from __future__ import annotations

import typer

from api.cli import zh
from api.cli.common import UserError, connect, console, progress
from data.db import session_factory
from data.queries.stats import is_empty
from data.settings import Settings
from data.store import migrate
from data.store.setup import load_city, load_sample

app = zh.Typer(help="生成并载入示例城区。", no_args_is_help=True)


@app.command(help="生成示例城区（加 --city 则为整个城市），载入空数据库。")
def load(
    seed: int = typer.Option(None, help="随机种子（默认取 WANGGE_SAMPLE_SEED）"),
    communities: int = typer.Option(
        None, min=1, max=43, help="生成多少个社区（加 --city 时为每个区县的社区数）"
    ),
    city: bool = typer.Option(False, "--city", help="整个城市：铜仁市的 2 个区和 8 个县"),
) -> None:
    settings = Settings()
    engine = connect(settings)
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    with session_factory(engine)() as session:
        if not is_empty(session):
            raise UserError("数据库里已有城区数据；示例城区只能载入空数据库")
    seed = seed if seed is not None else settings.sample_seed
    with progress() as report:
        if city:
            counts = load_city(engine, seed, communities=communities, progress=report)
        else:
            counts = load_sample(engine, seed, communities=communities or 43, progress=report)
    console.print("，".join(f"{table}：{rows} 行" for table, rows in counts.items()))
