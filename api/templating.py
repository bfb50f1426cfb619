"""The pages' HTML: Jinja2 templates (zh-CN) shared by every router that renders HTML, and the
folium maps rendered with the request's CSP nonce."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from branca.element import Element
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from maps.render import page_html

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
"""Times on pages are shown in China Standard Time; stored times are UTC-aware."""


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as people there read it."""
    return value.astimezone(LOCAL_TIME).strftime(fmt) if value else "—"


templates.env.filters["local"] = local_time


def map_page(m: Element, nonce: str) -> HTMLResponse:
    """Map ``m`` as a zh-CN page whose inline scripts run under the CSP with ``nonce``
    (``api.deps.NonceDep``)."""
    return HTMLResponse(page_html(m, nonce))
