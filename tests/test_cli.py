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
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "wangge")
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_wrong_option_is_one_line_exit_2() -> None:
    result = run("db", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["wangge db: No such option: --bogus"]
    assert "Traceback" not in result.stderr


def test_out_of_range_value_is_one_line_exit_2() -> None:
    result = run("sample", "load", "--communities", "99")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--communities" in result.stderr


def test_unreachable_database_names_database_url() -> None:
    result = run("db", "status", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr
