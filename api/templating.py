"""The pages' HTML: Jinja2 templates (zh-CN) shared by every router that renders HTML, and the
folium maps rendered with the request's CSP nonce."""

from __future__ import annotations

from pathlib import Path

from branca.element import Element
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from maps.render import page_html

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def map_page(request: Request, m: Element) -> HTMLResponse:
    """Map ``m`` as a zh-CN page whose inline scripts may run under this request's CSP."""
    return HTMLResponse(page_html(m, request.state.csp_nonce))
