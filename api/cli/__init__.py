"""The ``wangge`` command line.

Errors a user can fix (a wrong option, a missing file, an unreachable database) are printed as
one line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import sys

import typer

from api.cli import backup, db, engine, exchange, requests, sample, serve, users
from api.cli.common import UserError

app = typer.Typer(
    name="wangge",
    help="网格 Wangge: community grid map — database, sample data, grid engine and web service.",
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn usage and user errors into one line, exit 2."""
    try:
        code = app(args=argv, prog_name="wangge", standalone_mode=False)
    except typer.Abort:
        print("wangge: aborted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors, vendored by typer
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        where = ctx.command_path if ctx is not None else "wangge"
        print(f"{where}: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except UserError as exc:
        print(f"wangge: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
