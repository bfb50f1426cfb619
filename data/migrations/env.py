"""Alembic environment: migrate the database that Wangge's settings name."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from data.db import make_engine, resolve_url
from data.models import Base
from data.settings import Settings
from data.store.migrate import include_object

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("url") or resolve_url(Settings())
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_schemas=True,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
