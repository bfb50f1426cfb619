"""Settings read from the environment once, when a command or the app starts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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

    # Residents' lookup and public maps (issue 8).
    lookup_rate_per_minute: int = 60
    """Lookups one client (IP) may make per minute, per server process; 0 turns limiting off."""
    lookup_burst: int = 20
    """Lookups a client may make at once before the per-minute rate applies."""
    trusted_proxy: bool = False
    """Take the client address from ``X-Forwarded-For`` (only behind a proxy that sets it)."""
    public_base_url: str | None = None
    """Origin printed in signboard QR codes, e.g. ``https://wangge.example.cn``; default: the
    origin of the request."""
    basemap: Literal["none", "tianditu", "amap", "tencent"] = "none"
    """Basemap of the public maps: none (works offline), Tianditu (CGCS2000, needs
    ``tianditu_key``), or AMap/Tencent (GCJ-02: overlays are shifted to match)."""
    tianditu_key: str | None = None
    lookup_pool_size: int = 8
    """Connections of the async pool that serves lookups and tiles, per server process."""
    party_members_hidden: list[str] = []
    """Codes of communities that do not publish their grids' party members on signboards."""


def sqlalchemy_url(url: str) -> str:
    """Make a libpq-style URL use SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """Strip SQLAlchemy's driver name so psycopg, psql and pg_dump accept the URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
