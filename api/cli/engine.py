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

ReadableFile = typer.Argument(..., exists=True, dir_okay=False, readable=True)


def _band(value: str) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in value.split("-"))
    except ValueError as exc:
        raise UserError(f"--band 应写成 300-500 的形式，而不是 {value!r}") from exc
    if not 0 < low < high:
        raise UserError(f"--band {value}：下限须为正数且小于上限")
    return low, high


def register(app: typer.Typer) -> None:
    @app.command()
    def divide(
        buildings: Path = ReadableFile,
        households_field: str = typer.Option(..., help="Field holding households per building."),
        out: Path = typer.Option(..., help="Output GeoPackage (layers grids, buildings)."),
        compound_field: str = typer.Option(None, help="Field naming each building's compound."),
        boundary: Path = typer.Option(
            None, exists=True, dir_okay=False, help="Community boundary."
        ),
        barriers: Path = typer.Option(None, exists=True, dir_okay=False, help="Roads and rivers."),
        community_code: str = typer.Option("000000000000", help="12-digit code for grid codes."),
        band: str = typer.Option("300-500", help="Households per grid, as FLOOR-CEILING."),
        seed: int = typer.Option(0, help="Random seed (same seed, same division)."),
        strict: bool = typer.Option(
            False, "--strict", help="Refuse instead of writing a plan that breaks a rule."
        ),
        time_limit: float = typer.Option(
            TIME_LIMIT_S, min=0.1, help="Seconds the search may take; then the best plan found."
        ),
    ) -> None:
        """Divide a building layer (any GDAL-readable file, any CRS) into grids of 300–500
        households; writes grids (code, households) and buildings (+ grid_code) in EPSG:4490.
        Where the rules cannot all be kept (or time runs out) the plan of least violation is
        written and every exception is listed; --strict refuses instead."""
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
                console.print(f"- {flag.message}", markup=False, soft_wrap=True)
        elif result.timed_out:
            console.print("全部网格在范围内。")

    @app.command()
    def check(
        community: str = typer.Argument(..., help="12-digit community code."),
        as_json: bool = typer.Option(False, "--json", help="Print the JSON report."),
    ) -> None:
        """Check a community's published plan against the grid rules (exit 1 if any fails)."""
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

    @app.command()
    def rebalance(
        community: str = typer.Argument(..., help="12-digit community code."),
        actor: str = typer.Option("cli", help="Name recorded in the audit log."),
        seed: int = typer.Option(0, help="Random seed."),
        best: bool = typer.Option(
            False, "--best", help="Best plan: the exact solver's when it moves fewer, within 10 s."
        ),
    ) -> None:
        """Re-balance a community into its draft (opened from the published plan if needed),
        moving as few households as possible; publish it from the planner page."""
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
            f"{int(moves['households'].sum())} 户换了网格员"
        )
        print(report.to_text_zh())
