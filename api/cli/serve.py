"""``wangge setup`` and ``wangge serve``."""

from __future__ import annotations

import os
from typing import Any

import typer
import uvicorn

from api.cli.common import connect, console, progress
from data.settings import Settings, refuse_default_secrets
from data.store.setup import prepare


def _prepare(settings: Settings) -> str:
    engine = connect(settings)
    with progress() as report:
        loaded = prepare(engine, settings.sample_seed, progress=report)
    console.print("示例城区已载入。" if loaded else "数据库已就绪（原有数据保留）。")
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy settings: trust ``X-Forwarded-For`` from exactly the configured proxies
    (uvicorn then takes the right-most address that is not one of them), and not at all when
    none is configured (uvicorn's own default trusts 127.0.0.1, so a client on this machine,
    or any client behind an unconfigured local proxy, could name any address)."""
    if not settings.trusted_proxy:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxy)}


def register(app: typer.Typer) -> None:
    @app.command(help="需要时启动数据库，升级数据库结构；数据库为空时载入示例城区。")
    def setup() -> None:
        _prepare(Settings())

    @app.command(help="先像 wangge setup 那样准备数据库，再启动网页服务。")
    def serve(
        host: str = typer.Option("127.0.0.1", help="监听的地址"),
        port: int = typer.Option(8000, min=1, max=65535, help="监听的端口"),
        workers: int = typer.Option(1, min=1, help="服务进程数"),
        log_level: str = typer.Option(
            "info",
            help="日志级别（`debug`、`info`、`warning`、`error`；`warning` 及以上不记访问日志）",
        ),
    ) -> None:
        settings = Settings()
        refuse_default_secrets(settings)
        url = _prepare(settings)
        os.environ["DATABASE_URL"] = url  # every worker uses the database resolved here
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            **proxy_options(settings),
        )
