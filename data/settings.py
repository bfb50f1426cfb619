"""Settings read from the environment once, when a command or the app starts."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Wangge's configuration.

    ``DATABASE_URL`` names an existing PostGIS server; without it Wangge starts and uses a
    project-local cluster under ``var_dir``.
    """

    model_config = SettingsConfigDict(env_prefix="WANGGE_", extra="ignore")

    env: Literal["development", "production"] = "development"
    """Outside ``development`` the app refuses to start with default or empty secrets."""
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    var_dir: Path = PROJECT_ROOT / "var"
    local_pg_port: int = 54329
    local_db_name: str = "wangge"
    sample_seed: int = 20261124

    # Read replicas (issue 18).
    replica_url: str = ""
    """Hot standbys that serve the public reads, comma-separated libpq URLs; empty: none."""
    replica_max_lag_s: float = 5.0
    """A replica further behind the primary than this is skipped (reads go to the primary)."""
    replica_check_interval_s: float = 1.0
    """How often each replica's lag and the primary's health are measured."""
    local_replica_port: int | None = None
    """Port of ``wangge db replica``'s local standby; default: the local cluster's port + 1."""
    tile_cache_mb: int = 64
    """Memory each server process keeps for versioned vector tiles (they never change)."""

    # Residents' lookup and public maps (issue 8).
    lookup_rate_per_minute: int = 60
    """Lookups one client (IP) may make per minute, per server process; 0 turns limiting off."""
    lookup_burst: int = 20
    """Lookups a client may make at once before the per-minute rate applies."""
    trusted_proxy: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses or CIDR networks of the reverse proxies in front of the app, comma-separated
    (``127.0.0.1``, ``10.0.0.0/8``): only a connection from one of them may name the client in
    ``X-Forwarded-For``, and the client is the right-most address there that is not one of
    them. Empty (the default): the header is ignored and the client is the connection's peer."""
    public_base_url: str | None = None
    """Origin printed in signboard QR codes, e.g. ``https://wangge.example.cn``; default: the
    origin of the request."""
    basemap: Literal["wangge", "none", "tianditu", "amap", "tencent"] = "wangge"
    """Basemap of the public maps: wangge (its own, drawn from its data; works offline), none,
    Tianditu (CGCS2000, needs
    ``tianditu_key``), or AMap/Tencent (GCJ-02: overlays are shifted to match)."""
    tianditu_key: str | None = None
    lookup_pool_size: int = 8
    """Connections of the async pool that serves lookups and tiles, per server process."""
    party_members_hidden: list[str] = []
    """Codes of communities that do not publish their grids' party members on signboards."""

    # Hostile input and logins (issue 7).
    max_upload_bytes: int = 200 * 1024 * 1024
    """Largest uploaded file; a bigger upload is cut off while streaming to disk (413)."""
    max_body_bytes: int = 1024 * 1024
    """Largest request body other than an upload (JSON, forms)."""
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    """Largest total a zip's members may declare once extracted."""
    max_zip_ratio: int = 200
    """Largest compression ratio of a zip member (a zip bomb's is in the thousands)."""
    max_vertices: int = 5_000_000
    """Most vertices an imported layer may hold, counted before its geometries are loaded."""
    max_json_depth: int = 64
    """Deepest nesting of a JSON request body or GeoJSON upload."""
    login_max_failures: int = 10
    """Failed logins per username, and per client address, within ``login_window_seconds``
    before logins from it answer 429; per server process, in memory; 0 turns it off."""
    login_window_seconds: int = 900

    # The grid at work: residents' requests (issue 17).
    request_sla_hours: dict[str, float] = {
        "环境卫生": 48,
        "设施报修": 72,
        "矛盾纠纷": 72,
        "安全隐患": 24,
        "政策咨询": 72,
        "帮扶求助": 48,
        "其他": 120,
    }
    """The request categories residents choose from, in order, each with its time limit."""
    request_departments: list[str] = ["公安", "城管", "市场监管", "供水", "供电", "燃气", "住建"]
    """Departments a community dispatcher can hand a request to."""
    request_retention_days: int = 3 * 365
    """Closed requests' phones and photos are purged this long after closing (records kept)."""
    request_service_radius_m: float = 3000.0
    """A reported point farther than this from every community is refused (the sea, another
    county)."""
    report_rate_per_minute: int = 6
    """Requests one client may submit per minute (shared by every server process, like the
lookups' budget); 0 turns limiting off."""
    report_burst: int = 3
    escalate_every_seconds: int = 300
    """How often the app looks for overdue requests to escalate; 0: only ``wangge requests
    escalate``."""

    @field_validator("trusted_proxy", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> tuple[str, ...]:
        """Split the comma-separated list and refuse anything that is not an address or a
        network (``true`` from the old boolean setting included), naming it."""
        items = value.split(",") if isinstance(value, str) else list(value or ())  # type: ignore[call-overload]
        proxies = tuple(str(item).strip() for item in items if str(item).strip())
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"环境变量 WANGGE_TRUSTED_PROXY 的值不对：{proxy!r} 不是 IP 地址或网段；"
                    "请列出反向代理的地址，用逗号分隔，如 127.0.0.1,10.0.0.0/8"
                ) from exc
        return proxies


class InsecureSettings(ValueError):
    """A default or empty secret outside development: the app refuses to start."""


KNOWN_DEFAULT_PASSWORDS = frozenset(
    {"", "postgres", "password", "wangge", "changeme", "secret", "admin", "123456"}
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})


def refuse_default_secrets(settings: Settings) -> None:
    """Raise :class:`InsecureSettings` (one line) when a production app would run on default or
    empty secrets: a database password left out or left at a well-known default for a server
    that is not on this machine, or a missing or placeholder Tianditu key."""
    if settings.env == "development":
        return
    if settings.database_url:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(sqlalchemy_url(settings.database_url))
        except Exception as exc:
            raise InsecureSettings("DATABASE_URL 不是有效的数据库 URL") from exc
        host = (url.host or "").strip("[]")
        remote = host not in LOOPBACK_HOSTS and not host.startswith("/")
        if remote and (url.password or "").lower() in KNOWN_DEFAULT_PASSWORDS:
            raise InsecureSettings(
                f"WANGGE_ENV={settings.env}：DATABASE_URL 连到 {host} 用的是空密码或默认密码；"
                "请设置真正的密码"
            )
    if settings.basemap == "tianditu":
        key = (settings.tianditu_key or "").strip()
        if len(key) < 16 or key.lower() in {"test", "changeme", "your_key", "tk", "key"}:
            raise InsecureSettings(
                f"WANGGE_ENV={settings.env}：WANGGE_TIANDITU_KEY 没有设置或只是占位值；"
                "请填写天地图发放的密钥"
            )


def replica_urls(settings: Settings) -> list[str]:
    """The replica URLs named by ``WANGGE_REPLICA_URL``, in order, without blanks."""
    return [u.strip() for u in settings.replica_url.split(",") if u.strip()]


def sqlalchemy_url(url: str) -> str:
    """Make a libpq-style URL use SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """Strip SQLAlchemy's driver name so psycopg, psql and pg_dump accept the URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
