"""The OpenAPI documentation page, ``/docs``: Swagger UI served by the app itself.

FastAPI's own page loads Swagger UI from a CDN, which the app's Content-Security-Policy (and a
network without internet) forbids; this one uses the copy vendored from the npm package
``swagger-ui-dist`` (``maps/static/vendor/swagger-ui``) and a script file, nothing inline.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "docs.html", {})
