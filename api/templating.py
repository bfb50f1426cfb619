"""Jinja2 templates for the pages (zh-CN), shared by every router that renders HTML."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
"""Times on pages are shown in China Standard Time; stored times are UTC-aware."""


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as people there read it."""
    return value.astimezone(LOCAL_TIME).strftime(fmt) if value else "—"


templates.env.filters["local"] = local_time
