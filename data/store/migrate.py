"""Running the Alembic migrations from code (the CLI and the tests share this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers

from data.settings import PROJECT_ROOT


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "data" / "alembic.ini"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(url), revision)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave PostGIS's own tables out of autogenerate comparisons."""
    if type_ == "table" and name == "spatial_ref_sys":
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
