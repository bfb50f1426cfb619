"""The pages' HTML: Jinja2 templates (zh-CN) shared by every router that renders HTML, and the
folium maps rendered with the request's CSP nonce."""

from __future__ import annotations

from pathlib import Path

from branca.element import Element
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from maps.render import page_html

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def map_page(m: Element, nonce: str) -> HTMLResponse:
    """Map ``m`` as a zh-CN page whose inline scripts run under the CSP with ``nonce``
    (``api.deps.NonceDep``)."""
    return HTMLResponse(page_html(m, nonce))
