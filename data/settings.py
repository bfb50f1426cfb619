"""Settings read from the environment once, when a command or the app starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Wangge's configuration.

    ``DATABASE_URL`` names an existing PostGIS server; without it Wangge starts and uses a
    project-local cluster under ``var_dir``.
    """

    model_config = SettingsConfigDict(env_prefix="WANGGE_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    var_dir: Path = PROJECT_ROOT / "var"
    local_pg_port: int = 54329
    local_db_name: str = "wangge"
    sample_seed: int = 20261124


def sqlalchemy_url(url: str) -> str:
    """Make a libpq-style URL use SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """Strip SQLAlchemy's driver name so psycopg, psql and pg_dump accept the URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
