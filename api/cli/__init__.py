"""The ``wangge`` command line.

It is read by planners and administrators in China, so what it shows is Chinese: every text
Typer shows is given as ``help=`` (to ``zh.Typer(...)``, ``@app.command(...)``,
``typer.Option(...)`` and ``typer.Argument(...)``), in plain Chinese, keeping formats, CRS codes,
option names and values as they are. Docstrings stay English, for maintainers, and a command's
says only what its help does not (Typer ignores it once ``help=`` is given). Every Typer here is
an ``api.cli.zh.Typer``, which also puts Typer's and Click's own words in Chinese;
``tests/test_cli_chinese.py`` walks every command and fails on English in ``--help``.

Errors are printed as one line on stderr, never as a traceback, with the exit codes of POSIX
tools and Typer: 2 when the input is at fault (a wrong option, a missing or bad file), 1 when the
command was right but failed at run time (the database is down, the plan changed meanwhile).
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from api.cli import backup, db, engine, exchange, requests, sample, serve, users, zh
from api.cli.common import CommandFailed, UserError
from data.access.accounts import AccountError
from data.db import DatabaseUnavailable
from data.exchange.export import ExportError, ExportForbidden
from data.plans.engine import EngineError
from data.plans.versions import PlanError
from data.settings import InsecureSettings, Settings
from data.store.backup import BackupError, BackupUnreachable
from data.store.cluster import ClusterError

EXIT_CODES: dict[type[Exception], int] = {
    BackupUnreachable: 1,
    UserError: 2,
    ExportError: 2,
    ExportForbidden: 2,
    AccountError: 2,
    BackupError: 2,
    InsecureSettings: 2,
    CommandFailed: 1,
    DatabaseUnavailable: 1,
    ClusterError: 1,
    PlanError: 1,
    EngineError: 1,
}
"""Domain errors and the exit code each ends a command with (the first kind that matches)."""

app = zh.Typer(
    name="wangge",
    help="网格 Wangge：社区网格地图——数据库、示例数据、网格划分与网页服务。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(sample.app, name="sample")
app.add_typer(users.app, name="user")
app.add_typer(requests.app, name="requests")
serve.register(app)
engine.register(app)
exchange.register(app)
backup.register(app)


def _setting_error(exc: ValidationError) -> str:
    """A malformed setting named by its environment variable; Settings' own checks name it in
    their message already, which is shown without Pydantic's English "Value error, " prefix."""
    error = exc.errors()[0]
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    reason = zh.value_error(error)
    if reason is None or not error["loc"]:
        return error["msg"]
    name = str(error["loc"][0])
    variable = name if name.isupper() else Settings.model_config["env_prefix"] + name.upper()
    return f"环境变量 {variable} 的值不对：{reason}"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn usage and user errors into one line, exit 2."""
    try:
        code = app(args=argv, prog_name="wangge", standalone_mode=False)
    except typer.Abort:
        print("wangge: 已中止", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors, vendored by typer
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        where = ctx.command_path if ctx is not None else "wangge"
        print(f"{where}: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except tuple(EXIT_CODES) as exc:
        print(f"wangge: {exc}", file=sys.stderr)
        sys.exit(next(code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)))
    except ValidationError as exc:  # a setting from the environment (WANGGE_*) is malformed
        print(f"wangge: {_setting_error(exc)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
