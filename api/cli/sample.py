"""``wangge sample``: the sample district modelled on Bijiang, Tongren."""

from __future__ import annotations

import typer

from api.cli.common import UserError, connect, console, progress
from data.db import session_factory
from data.queries.stats import is_empty
from data.settings import Settings
from data.store import migrate
from data.store.setup import load_sample

app = typer.Typer(help="Build and load the sample district.", no_args_is_help=True)


@app.command()
def load(
    seed: int = typer.Option(None, help="Random seed (default: WANGGE_SAMPLE_SEED)."),
    communities: int = typer.Option(43, min=1, max=43, help="How many communities to build."),
) -> None:
    """Generate the sample district and load it into an empty database."""
    settings = Settings()
    engine = connect(settings)
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    with session_factory(engine)() as session:
        if not is_empty(session):
            raise UserError(
                "the database already holds a district; load the sample into an empty one"
            )
    with progress() as report:
        counts = load_sample(
            engine,
            seed if seed is not None else settings.sample_seed,
            communities=communities,
            progress=report,
        )
    console.print(", ".join(f"{table}: {rows}" for table, rows in counts.items()))
