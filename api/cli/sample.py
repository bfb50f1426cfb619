"""``wangge sample``: the sample district modelled on Bijiang, Tongren, or the whole city."""

from __future__ import annotations

import typer

from api.cli.common import UserError, connect, console, progress
from data.db import session_factory
from data.queries.stats import is_empty
from data.settings import Settings
from data.store import migrate
from data.store.setup import load_city, load_sample

app = typer.Typer(help="Build and load the sample district.", no_args_is_help=True)


@app.command()
def load(
    seed: int = typer.Option(None, help="Random seed (default: WANGGE_SAMPLE_SEED)."),
    communities: int = typer.Option(
        None, min=1, max=43, help="How many communities to build (with --city: per region)."
    ),
    city: bool = typer.Option(
        False, "--city", help="The whole city: Tongren's 2 districts and 8 counties."
    ),
) -> None:
    """Generate the sample district (or with --city the city) and load it into an empty
    database."""
    settings = Settings()
    engine = connect(settings)
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    with session_factory(engine)() as session:
        if not is_empty(session):
            raise UserError(
                "the database already holds a district; load the sample into an empty one"
            )
    seed = seed if seed is not None else settings.sample_seed
    with progress() as report:
        if city:
            counts = load_city(engine, seed, communities=communities, progress=report)
        else:
            counts = load_sample(engine, seed, communities=communities or 43, progress=report)
    console.print(", ".join(f"{table}: {rows}" for table, rows in counts.items()))
