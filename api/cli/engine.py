"""``wangge divide``, ``wangge check`` and ``wangge rebalance``: the grid engine."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from api.cli.common import UserError, connect, console
from data.db import session_factory
from data.exchange.divide_file import OUTPUT_CRS, divide_layer, write_layers
from data.importing import ImportRejected
from data.plans.engine import EngineError, rebalance_draft, view_plan
from data.plans.versions import PlanError, published_plan, start_draft
from data.settings import Settings
from geo.errors import GridError

ReadableFile = typer.Argument(..., exists=True, dir_okay=False, readable=True)


def _band(value: str) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in value.split("-"))
    except ValueError as exc:
        raise UserError(f"--band must look like 300-500, not {value!r}") from exc
    if not 0 < low < high:
        raise UserError(f"--band {value}: the floor must be positive and below the ceiling")
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
    ) -> None:
        """Divide a building layer (any GDAL-readable file, any CRS) into grids of 300–500
        households; writes grids (code, households) and buildings (+ grid_code) in EPSG:4490."""
        try:
            result = divide_layer(
                buildings,
                households_field,
                compound_field=compound_field,
                boundary_path=boundary,
                barriers_path=barriers,
                community_code=community_code,
                band=_band(band),
                seed=seed,
            )
        except ImportRejected as exc:
            raise UserError(exc.issues[0].line()) from exc
        except (GridError, ValueError) as exc:
            raise UserError(f"{buildings.name}: {exc}") from exc
        write_layers(result, out)
        low, high = _band(band)
        in_band = result.grids["households"].between(low, high).sum()
        console.print(
            f"{len(result.grids)} grids ({in_band} in {low}–{high}) from "
            f"{len(result.buildings)} buildings read as {result.source_crs}; "
            f"wrote {out} in {OUTPUT_CRS}"
        )

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
                raise UserError(f"community {community} has no published plan")
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
    ) -> None:
        """Re-balance a community into its draft (opened from the published plan if needed),
        moving as few households as possible; publish it from the planner page."""
        engine = connect(Settings())
        with session_factory(engine)() as session:
            try:
                draft = start_draft(session, community, actor)
                moves = rebalance_draft(session, draft, draft.revision, actor, seed)
                report = view_plan(session, draft).check()
            except (PlanError, EngineError) as exc:
                raise UserError(str(exc)) from exc
            session.commit()
            version = draft.version
        per_grid = moves.groupby(["from_grid", "to_grid"])["households"].agg(["count", "sum"])
        for (source, target), row in per_grid.iterrows():
            console.print(
                f"第{source}网格 → 第{target}网格: {row['count']} 栋/单元, {row['sum']} 户"
            )
        console.print(
            f"draft version {version}: {len(moves)} buildings/units, "
            f"{int(moves['households'].sum())} households change grid worker"
        )
        print(report.to_text_zh())
