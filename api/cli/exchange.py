"""``wangge export`` and ``wangge import``: the same core as the HTTP API, for operators.

On the command line the operator is authorised for every layer; exports and imports of
household (personal) data need ``--reason`` or are recorded with the operator's name in
``audit_log``.
"""

from __future__ import annotations

import csv
import getpass
from enum import StrEnum
from pathlib import Path

import typer

from api.cli.common import UserError, connect, console, progress
from data.exchange.export import FORMATS, export
from data.imports import (
    Imported,
    ImportRejected,
    InputLimits,
    import_buildings,
    import_compounds,
    import_households,
)
from data.imports import parse_mapping as _parse_mapping
from data.settings import Settings
from geo.targets import TARGET_NAMES

ExportFormat = StrEnum("ExportFormat", {name: name for name in FORMATS})  # type: ignore[misc]
TargetCrs = StrEnum("TargetCrs", {name: name for name in TARGET_NAMES})  # type: ignore[misc]
"""Choices as enums, so ``--help`` lists them."""


class Encoding(StrEnum):
    utf8 = "UTF-8"
    gbk = "GBK"


import_app = typer.Typer(
    help="Import buildings, compounds or a household 一张表.", no_args_is_help=True
)


def _operator() -> str:
    return f"operator:{getpass.getuser()}"


def export_command(
    layers: list[str] = typer.Argument(
        ...,
        help="grids, communities, streets, compounds, "
        "buildings, households (several: GeoPackage only)",
    ),
    format: ExportFormat = typer.Option(ExportFormat("gpkg"), "--format", "-f", help="file format"),
    crs: TargetCrs = typer.Option(
        "4490",
        case_sensitive=False,
        help="gk: the CGCS2000 Gauss–Krüger zone of the data; gcj02/bd09: AMap/Baidu offsets",
    ),
    encoding: Encoding = typer.Option(
        Encoding.utf8, case_sensitive=False, help="text encoding of Shapefile/CSV"
    ),
    area: str = typer.Option("", help="district, street or community code to limit to"),
    out: Path = typer.Option(Path("."), "--out", "-o", help="folder to write into"),
    reason: str = typer.Option(None, help="why household data leaves (required for it)"),
) -> None:
    """Export layers for a city platform; prints each file with its CRS."""
    engine = connect(Settings())
    result = export(
        engine,
        layers,
        format.value,
        crs.value,
        out,
        prefix=area,
        encoding=encoding.value,
        actor=_operator(),
        reason=reason,
    )
    console.print(
        f"已写出 {result.path}："
        + "，".join(f"{name} {n} 个要素" for name, n in result.counts.items())
    )
    console.print(
        f"坐标系：{result.target.label}"
        + (f"；编码 {result.encoding}" if result.format.name in ("shp", "csv") else "")
    )


def _run(work, path: Path, report: Path) -> None:
    """Run an import with the configured limits; a refusal writes the report (exit 2)."""
    if not path.is_file():
        raise UserError(f"{path}：文件不存在")
    settings = Settings()
    engine = connect(settings)
    with progress() as step:
        try:
            with engine.begin() as conn:
                result: Imported = work(conn, path, step, InputLimits.of(settings))
        except ImportRejected as exc:
            _write_report(report, exc)
            raise UserError(f"{path.name}：{exc}；完整报告见 {report}") from exc
    console.print(result.summary())
    for note in result.notes:
        console.print(f"注意：{note}")


def _write_report(report: Path, exc: ImportRejected) -> None:
    try:
        with report.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["file", "row", "column", "code", "problem"])
            for issue in exc.issues:
                writer.writerow(
                    [issue.file, issue.row or "", issue.column or "", issue.code, issue.problem]
                )
    except OSError as err:
        raise UserError(f"{exc}；报告无法写入 {report}（{err.strerror}）") from exc


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    try:
        return _parse_mapping(pairs)
    except ImportRejected as exc:
        raise UserError(str(exc)) from exc


REPORT = typer.Option(Path("import-report.csv"), help="where the problem report is written")
MAP = typer.Option(None, "--map", help="表头=field, repeatable (e.g. 户主=head_name)")


def _layer_command(kind: str, importer, summary: str) -> None:
    """Register ``wangge import KIND``: a building or compound layer, all or nothing."""

    def command(
        path: Path = typer.Argument(..., help="zipped or bare Shapefile, GeoPackage or GeoJSON"),
        community: str = typer.Option(None, help=f"community code the {kind} belong to"),
        crs: str = typer.Option(None, help="gcj02, bd09 or an EPSG code, when the file lacks it"),
        map: list[str] = MAP,
        report: Path = REPORT,
    ) -> None:
        _run(
            lambda conn, p, step, limits: importer(
                conn,
                p,
                community=community,
                declared_crs=crs,
                mapping=_mapping(map),
                progress=step,
                limits=limits,
            ),
            path,
            report,
        )

    command.__doc__ = summary
    import_app.command(kind)(command)


_layer_command(
    "buildings", import_buildings, "Add or update buildings (rows with an id update that building)."
)
_layer_command("compounds", import_compounds, "Add or update compounds (小区).")


@import_app.command("households")
def import_households_command(
    path: Path = typer.Argument(..., help="the 一张表: .xlsx or .csv with Chinese headers"),
    community: str = typer.Option(None, help="community code (limits address matching)"),
    sheet: str = typer.Option("0", help="sheet name or number (xlsx)"),
    map: list[str] = MAP,
    report: Path = REPORT,
) -> None:
    """Add the households of a 一张表, matched to buildings by address; audited."""
    which: str | int = int(sheet) if sheet.isdigit() else sheet
    _run(
        lambda conn, p, step, limits: import_households(
            conn,
            p,
            actor=_operator(),
            community=community,
            mapping=_mapping(map),
            sheet=which,
            progress=step,
            limits=limits,
        ),
        path,
        report,
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.add_typer(import_app, name="import")
