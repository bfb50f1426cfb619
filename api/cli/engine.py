"""``wangge divide``, ``wangge check`` and ``wangge rebalance``: the grid engine."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from api.cli.common import UserError, connect, console, progress
from data.db import session_factory
from data.exchange.divide_file import (
    OUTPUT_CRS,
    OutputRefused,
    check_output,
    divide_layer,
    write_layers,
)
from data.imports import ImportRejected
from data.plans.engine import EngineError, rebalance_draft, view_plan
from data.plans.versions import PlanError, published_plan, start_draft
from data.settings import Settings
from geo.divide import TIME_LIMIT_S
from geo.errors import GridError


def _band(value: str) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in value.split("-"))
    except ValueError as exc:
        raise UserError(f"--band 应写成 300-500 的形式，而不是 {value!r}") from exc
    if not 0 < low < high:
        raise UserError(f"--band {value}：下限须为正数且小于上限")
    return low, high


def register(app: typer.Typer) -> None:
    @app.command(
        help="把楼栋图层划分成每格 300–500 户的网格。\n\n"
        "楼栋图层可以是 GDAL 能读的任何文件、任何坐标系。结果写成 GeoPackage，坐标系 EPSG:4490，"
        "含网格图层 `grids`（编码、户数）和楼栋图层 `buildings`（加上所属网格的编码 `grid_code`）。"
        "\n\n规则无法全部满足（或到了时限）时，写出违反最少的方案并列出每一项例外；"
        "加 --strict 则拒绝写出。"
    )
    def divide(
        buildings: Path = typer.Argument(
            ..., exists=True, dir_okay=False, readable=True, help="楼栋图层文件"
        ),
        households_field: str = typer.Option(..., help="楼栋图层中记每栋户数的字段"),
        out: Path = typer.Option(
            ..., help="要写出的 GeoPackage 文件（图层 `grids` 和 `buildings`）"
        ),
        compound_field: str = typer.Option(None, help="楼栋图层中记所属小区的字段"),
        boundary: Path = typer.Option(None, exists=True, dir_okay=False, help="社区边界图层文件"),
        barriers: Path = typer.Option(
            None, exists=True, dir_okay=False, help="道路、河流等分隔线图层文件（网格不跨越）"
        ),
        community_code: str = typer.Option("000000000000", help="12位社区代码，用于生成网格编码"),
        band: str = typer.Option("300-500", help="每格户数范围，写成“下限-上限”"),
        seed: int = typer.Option(0, help="随机种子（种子相同，划分相同）"),
        strict: bool = typer.Option(
            False, "--strict", help="有违反规则的网格时拒绝写出，而不是写出违反最少的方案"
        ),
        time_limit: float = typer.Option(
            TIME_LIMIT_S, min=0.1, help="搜索最多用的秒数；到时写出目前找到的最好方案"
        ),
    ) -> None:
        try:
            check_output(out, [buildings, boundary, barriers])
            with progress() as report:
                result = divide_layer(
                    buildings,
                    households_field,
                    compound_field=compound_field,
                    boundary_path=boundary,
                    barriers_path=barriers,
                    community_code=community_code,
                    band=_band(band),
                    seed=seed,
                    strict=strict,
                    time_limit=time_limit,
                    progress=report,
                )
        except ImportRejected as exc:
            more = f"（共 {len(exc.issues)} 个问题）" if len(exc.issues) > 1 else ""
            raise UserError(exc.issues[0].line() + more) from exc
        except OutputRefused as exc:
            raise UserError(str(exc)) from exc
        except (GridError, ValueError) as exc:
            raise UserError(
                f"{buildings.name}：{exc}（楼栋以文件中的要素序号标示，从 1 起）"
            ) from exc
        try:
            write_layers(result, out)
        except OutputRefused as exc:
            raise UserError(str(exc)) from exc
        for note in result.notes:
            console.print(f"注意：{note}")
        low, high = _band(band)
        in_band = result.grids["households"].between(low, high).sum()
        console.print(
            f"{len(result.grids)} 个网格（{in_band} 个在 {low}–{high} 户之间），"
            f"来自 {len(result.buildings)} 栋楼；按 {result.source_crs} 读取，"
            f"在 {result.metric_crs} 中量算；已写出 {out}（{OUTPUT_CRS}）"
        )
        if result.timed_out:
            console.print(f"已到 {time_limit:g} 秒时限，写出的是目前找到的最好划分。")
        if result.exceptions:
            console.print(f"{len(result.exceptions)} 项例外（已尽量减少）：")
            for flag in result.exceptions:
                console.print(f"- {flag.message}", markup=False)
        elif result.timed_out:
            console.print("全部网格在范围内。")

    @app.command(help="按网格规则检查社区已发布的方案（有不合规之处时退出码为 1）。")
    def check(
        community: str = typer.Argument(..., help="12位社区代码"),
        as_json: bool = typer.Option(False, "--json", help="输出 JSON 格式的检查报告"),
    ) -> None:
        engine = connect(Settings())
        with session_factory(engine)() as session:
            plan = published_plan(session, community)
            if plan is None:
                raise UserError(f"社区 {community} 没有已发布的方案")
            report = view_plan(session, plan).check()
        print(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=1)
            if as_json
            else report.to_text_zh()
        )
        if not report.ok:
            raise typer.Exit(1)

    @app.command(
        help="重新平衡社区的网格，结果存入草稿（需要时从已发布方案新建草稿），"
        "尽量少调整住户；草稿在规划页面发布。"
    )
    def rebalance(
        community: str = typer.Argument(..., help="12位社区代码"),
        actor: str = typer.Option("cli", help="记入审计日志的操作人"),
        seed: int = typer.Option(0, help="随机种子"),
        best: bool = typer.Option(
            False, "--best", help="求最优方案：精确求解（至多 10 秒）调整更少时采用它的结果"
        ),
    ) -> None:
        engine = connect(Settings())
        with session_factory(engine)() as session:
            try:
                draft = start_draft(session, community, actor)
                moves = rebalance_draft(session, draft, draft.revision, actor, seed, best)
                report = view_plan(session, draft).check()
            except (PlanError, EngineError) as exc:
                raise UserError(str(exc)) from exc
            session.commit()
            version = draft.version
        per_grid = moves.groupby(["from_grid", "to_grid"])["households"].agg(["count", "sum"])
        for (source, target), row in per_grid.iterrows():
            console.print(
                f"第{source}网格 → 第{target}网格：{row['count']} 栋/单元，{row['sum']} 户"
            )
        console.print(
            f"草稿第 {version} 版：{len(moves)} 栋楼/单元、"
            f"{int(moves['settled_households'].sum())} 户换了网格员"
        )
        if placed := int(moves["new_households"].sum()):
            console.print(f"新增住户 {placed} 户就近编入网格，不计入调整")
        print(report.to_text_zh())
