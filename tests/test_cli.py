"""The command line: help everywhere, and one-line errors with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

WANGGE = [sys.executable, "-m", "api.cli"]
COMMANDS = [
    [],
    ["setup"],
    ["serve"],
    ["db"],
    ["db", "start"],
    ["db", "stop"],
    ["db", "status"],
    ["db", "upgrade"],
    ["sample"],
    ["sample", "load"],
]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*WANGGE, *args],
        capture_output=True,
        text=True,
        timeout=180,  # importing the app is slow on a loaded machine
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "wangge")
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "用法" in result.stdout


def test_wrong_option_is_one_line_exit_2() -> None:
    result = run("db", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["wangge db: 没有 --bogus 这个选项"]
    assert "Traceback" not in result.stderr


def test_out_of_range_value_is_one_line_exit_2() -> None:
    result = run("sample", "load", "--communities", "99")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--communities" in result.stderr


def test_unreachable_database_names_database_url_exit_1() -> None:
    result = run("db", "status", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing"})
    assert result.returncode == 1  # a runtime failure, not a usage error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_export_choices_are_listed_and_checked() -> None:
    helped = run("export", "--help", env={"COLUMNS": "200"})
    assert "gpkg|shp|geojson|fgb|kml|csv" in helped.stdout and "gcj02|bd09" in helped.stdout
    wrong = run("export", "grids", "--crs", "2000")
    assert wrong.returncode == 2 and "--crs" in wrong.stderr and "Traceback" not in wrong.stderr
