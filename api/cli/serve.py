"""``wangge setup`` and ``wangge serve``."""

from __future__ import annotations

import os

import typer
import uvicorn

from api.cli.common import connect, console, progress
from data.settings import Settings, refuse_default_secrets
from data.store.setup import prepare


def _prepare(settings: Settings) -> str:
    engine = connect(settings)
    with progress() as report:
        loaded = prepare(engine, settings.sample_seed, progress=report)
    console.print("sample district loaded." if loaded else "database ready (data kept).")
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url


def register(app: typer.Typer) -> None:
    @app.command()
    def setup() -> None:
        """Start the database if needed, migrate it, and load the sample district when empty."""
        _prepare(Settings())

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
        workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    ) -> None:
        """Set up the database (as `wangge setup`) and serve the app."""
        settings = Settings()
        refuse_default_secrets(settings)
        url = _prepare(settings)
        os.environ["DATABASE_URL"] = url  # every worker uses the database resolved here
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)
