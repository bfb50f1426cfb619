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

from api.cli import zh
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


import_app = zh.Typer(help="导入楼栋、小区或住户“一张表”。", no_args_is_help=True)


def _operator() -> str:
    return f"operator:{getpass.getuser()}"


def export_command(
    layers: list[str] = typer.Argument(
        ...,
        help="要导出的图层：`grids`（网格）、`communities`（社区）、`streets`（街道）、"
        "`compounds`（小区）、`buildings`（楼栋）、`households`（住户）；"
        "多个图层只能导出为 GeoPackage",
    ),
    format: ExportFormat = typer.Option(ExportFormat("gpkg"), "--format", "-f", help="文件格式"),
    crs: TargetCrs = typer.Option(
        "4490",
        case_sensitive=False,
        help="坐标系：EPSG 代码；gk 为数据所在的 CGCS2000 高斯-克吕格投影带；"
        "gcj02、bd09 为高德、百度地图的偏移坐标",
    ),
    encoding: Encoding = typer.Option(
        Encoding.utf8, case_sensitive=False, help="Shapefile、CSV 的文字编码"
    ),
    area: str = typer.Option("", help="只导出这个区县、街道或社区（填代码）"),
    out: Path = typer.Option(Path("."), "--out", "-o", help="写入的文件夹"),
    reason: str = typer.Option(None, help="导出住户数据的理由（导出住户数据时必填）"),
) -> None:
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
            writer.writerow(["文件", "行", "列", "问题代码", "问题"])
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


REPORT = typer.Option(Path("import-report.csv"), help="问题报告写到哪个文件")
MAP = typer.Option(
    None, "--map", help="表头与字段的对应，写成“表头=字段”，可写多次（如 户主=`head_name`）"
)


def _layer_command(kind: str, importer, summary: str) -> None:
    """Register ``wangge import KIND``: a building or compound layer, all or nothing."""

    def command(
        path: Path = typer.Argument(
            ..., help="Shapefile（可以是压缩包）、GeoPackage 或 GeoJSON 文件"
        ),
        community: str = typer.Option(None, help="所属社区的代码"),
        crs: str = typer.Option(None, help="文件没有坐标系时指定：gcj02、bd09 或 EPSG 代码"),
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

    import_app.command(kind, help=summary)(command)


_layer_command(
    "buildings", import_buildings, "新增或更新楼栋（带 ID 的行更新该楼栋）；全部成功才导入。"
)
_layer_command("compounds", import_compounds, "新增或更新小区；全部成功才导入。")


@import_app.command("households", help="导入“一张表”中的住户，按地址匹配到楼栋；导入记入审计日志。")
def import_households_command(
    path: Path = typer.Argument(..., help="“一张表”：带中文表头的 xlsx 或 CSV 文件"),
    community: str = typer.Option(None, help="社区代码（只在该社区内匹配地址）"),
    sheet: str = typer.Option("0", help="工作表名称或序号（xlsx）"),
    map: list[str] = MAP,
    report: Path = REPORT,
) -> None:
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
    app.command("export", help="导出图层供市级平台使用；逐个列出写出的文件及其坐标系。")(
        export_command
    )
    app.add_typer(import_app, name="import")
