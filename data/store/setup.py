"""Preparing a database for use: migrate, then load the sample district when it is empty."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

from data.db import session_factory
from data.queries.stats import is_empty
from data.settings import libpq_url
from data.store import migrate

Progress = Callable[[str, int, int], None]
"""A callback ``(stage, done, total)`` for long work."""


def load_sample(
    engine: Engine, seed: int, *, communities: int = 43, progress: Progress | None = None
) -> dict[str, int]:
    """Generate the sample district from ``seed`` and load it in one transaction."""
    from data import sample  # the generator pulls in heavy geometry code only when needed

    district = sample.generate(seed, communities=communities, progress=progress)
    url = libpq_url(engine.url.render_as_string(hide_password=False))
    with psycopg.connect(url) as conn:
        return sample.load(conn, district)


def load_city(
    engine: Engine, seed: int, *, communities: int | None = None, progress: Progress | None = None
) -> dict[str, int]:
    """Generate the city sample (Tongren's 2 districts and 8 counties) from ``seed`` and load
    it in one transaction; ``communities`` caps each region's (a small slice)."""
    from data import sample
    from data.sample.city import generate_city

    city = generate_city(seed, communities=communities, progress=progress)
    url = libpq_url(engine.url.render_as_string(hide_password=False))
    with psycopg.connect(url) as conn:
        return sample.load(conn, city)


def prepare(engine: Engine, seed: int, *, progress: Progress | None = None) -> bool:
    """Migrate to the newest schema and load the sample district into an empty database.

    Returns True when the sample was loaded, False when data was already there.
    """
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    with session_factory(engine)() as session:
        if not is_empty(session):
            return False
    load_sample(engine, seed, progress=progress)
    return True
