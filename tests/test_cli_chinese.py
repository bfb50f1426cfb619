"""The command line speaks Chinese: every command's ``--help``, and the usage errors.

The commands are walked from the Typer app itself, so a command added later is checked too. An
English word in the output fails the test unless it is something the user types or reads as a
code: a command or option name, a metavar, a choice or default value, an environment variable,
or one of the format, CRS and product names in ``TERMS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from api.cli import app, main

TERMS = {
    "wangge",
    "Wangge",
    "GeoPackage",
    "GeoJSON",
    "JSON",
    "Shapefile",
    "CSV",
    "xlsx",
    "EPSG",
    "CGCS2000",
    "GCJ",
    "BD",
    "GDAL",
    "PostGIS",
    "PostgreSQL",
    "UTF",
    "GBK",
    "URL",
    "IP",
    "ID",
}
"""File formats, coordinate systems, encodings and products, named as planners meet them."""

CODES = [
    r"--?[\w-]+",  # options
    r"<[^>|]*\|[^>]*>",  # choices of an option, as typed (a type label must be Chinese)
    r"\{[^}]*\}",  # arguments in the usage line
    r"\[默认：[^\]]*\]",  # default values
    r"\[环境变量：[^\]]*\]",
    r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b",  # environment variables
    r"'[^']*'",  # quoted values the user typed
    r"`[^`]*`",  # values and layer or field names, marked as code in the help
]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _walk(command: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def _names(command, seen: set[str]) -> set[str]:
    """Command names, argument names and choice values of the whole tree."""
    seen.add(command.name or "")
    for param in command.params:
        seen.add(param.name or "")
        seen.update(str(c) for c in (param.type_descriptor.choices or ()))
    for sub in getattr(command, "commands", {}).values():
        _names(sub, seen)
    return seen


ROOT = typer.main.get_command(app)
PATHS = list(_walk(ROOT))
NAMES = _names(ROOT, set()) | TERMS


def english(text: str) -> list[str]:
    """The English words of ``text`` that are not codes, names or known terms."""
    for code in CODES:
        text = re.sub(code, " ", text)
    return [w for w in WORD.findall(text) if sum(c.isalpha() for c in w) > 1 and w not in NAMES]


def test_the_walk_finds_nested_commands() -> None:
    assert ("db", "replica", "status") in PATHS and ("import", "households") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "wangge")
def test_help_is_chinese(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    assert english(result.output) == []
    assert "显示此帮助并退出" in result.output and "用法" in result.output


USAGE_ERRORS = [
    ["db", "--bogus"],
    ["db", "bogus"],
    ["dbb"],
    ["user", "add"],
    ["user", "add", "someone", "--role", "boss", "--password", "x"],
    ["sample", "load", "--communities", "x"],
    ["sample", "load", "--communities", "99"],
    ["serve", "--port"],
    ["export", "grids", "--crs", "2000"],
    ["divide", "nothere.gpkg", "--out", "x.gpkg", "--households-field", "h"],
    ["divide", ".", "--out", "x.gpkg", "--households-field", "h"],
    ["check", "520602001001", "extra"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=" ".join)
def test_usage_error_is_one_chinese_line_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert english(line) == [], line


def test_malformed_setting_is_named_in_chinese_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.setenv("WANGGE_LOCAL_PG_PORT", "abc")
    with pytest.raises(SystemExit) as exit:
        main(["db", "status"])
    assert exit.value.code == 2
    assert (
        capsys.readouterr().err.strip()
        == "wangge: 环境变量 WANGGE_LOCAL_PG_PORT 的值不对：'abc' 不是整数"
    )


def test_chinese_help_wraps_instead_of_being_cut() -> None:
    result = CliRunner().invoke(app, ["divide", "--help"], env={"COLUMNS": "80"})
    assert "…" not in result.output
    assert "楼栋图层中记每栋户数的字段" in re.sub(r"[\s│]", "", result.output)


def test_usage_error_through_typer_is_chinese_exit_2() -> None:
    result = CliRunner().invoke(app, ["sample", "load", "--seed", "many"], env={"COLUMNS": "1000"})
    assert result.exit_code == 2
    assert english(result.output) == []
    assert "--seed" in result.output and "错误" in result.output


NOWHERE = "postgresql://nobody@127.0.0.1:1/wangge"
"""A database URL that is never reached: these errors are found before connecting."""


def _refusal(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    [line] = capsys.readouterr().err.strip().splitlines()
    return exit.value.code, line


def test_restore_of_a_file_that_is_not_a_backup_is_chinese(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", NOWHERE)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, line = _refusal(["restore", str(notes)], capsys)
    assert code == 2 and str(notes) in line
    assert english(line.replace(str(notes), "")) == [], line


def test_backup_into_a_missing_folder_is_chinese(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", NOWHERE)
    target = tmp_path / "no" / "such" / "folder.dump"
    code, line = _refusal(["backup", str(target)], capsys)
    assert code == 2 and str(target.parent) in line
    assert english(line.replace(str(target.parent), "")) == [], line


def test_a_bad_trusted_proxy_is_named_in_chinese(monkeypatch, capsys) -> None:
    monkeypatch.setenv("WANGGE_TRUSTED_PROXY", "127.0.0.1,proxy.local")
    code, line = _refusal(["db", "status"], capsys)
    assert code == 2 and "WANGGE_TRUSTED_PROXY" in line and "'proxy.local'" in line
    assert english(line) == [], line


def test_backup_of_an_unreachable_database_is_chinese(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", NOWHERE)
    code, line = _refusal(["backup", str(tmp_path / "x.dump")], capsys)
    assert code == 1 and NOWHERE in line
    assert english(line.replace(NOWHERE, "")) == [], line
