"""The ASGI middleware every request passes: security headers on every response (a
Content-Security-Policy the map pages work with), NUL bytes refused, request bodies bounded.

Scripts run only from the app itself (``/static``) or, inline, with the request's nonce: each
request gets a fresh one in ``request.state.csp_nonce``, which the map pages put on folium's
inline ``<script>`` blocks (:func:`maps.render.page_html`); injected markup has no nonce and does
not run. Styles keep ``'unsafe-inline'``: folium and Leaflet write ``style`` attributes into the
markup they build (map panes, markers, tooltips), which a nonce cannot cover, and a style cannot
run script. Everything else (styles, fonts, tiles) is served by the app from ``/static`` and
``/tiles``, except the raster tiles of the configured basemap.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data.settings import Settings

BASEMAP_HOSTS = {
    "wangge": (),
    "none": (),
    "tianditu": ("https://*.tianditu.gov.cn",),
    "amap": ("https://*.is.autonavi.com",),
    "tencent": ("https://*.map.gtimg.com",),
}


def content_security_policy(settings: Settings, nonce: str) -> str:
    """The CSP for ``settings``' basemap and a request's script ``nonce``."""
    img = " ".join(("'self'", "data:", "blob:", *BASEMAP_HOSTS.get(settings.basemap, ())))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {img}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        )
    )


class SecurityHeaders:
    """Pure ASGI middleware (no buffering): adds the headers unless a route set its own, and
    gives each request its CSP nonce (``request.state.csp_nonce``).

    The fixed headers are encoded once; each response only has its header names compared (this
    runs on every lookup)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "X-Frame-Options": "DENY",
        }
        self.raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        policy = content_security_policy(self.settings, nonce).encode("latin-1")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                added = [(b"content-security-policy", policy), *self.raw]
                headers += [(k, v) for k, v in added if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RefuseNul:
    """Pure ASGI middleware: a NUL byte in the path or in a query parameter's name or value is
    400 naming it. PostgreSQL text cannot hold NUL, so it would otherwise fail deep inside a
    query. A check of the raw bytes before routing, rather than a dependency of every route:
    FastAPI solving one more dependency per request was a tenth of the residents' lookup."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = nul_in(scope["path"], scope["query_string"])
            if problem:
                await JSONResponse({"detail": problem}, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def nul_in(path: str, query: bytes) -> str | None:
    """The message for a NUL byte in ``path`` (decoded) or ``query`` (raw), else None."""
    if "\x00" in path:
        return "网址路径含有空字符（NUL），请删除后重试"
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return f"参数 {name.replace(chr(0), '')} 含有空字符（NUL），请删除后重试"
    return None


def too_large(limit: int) -> str:
    return f"上传内容过大，最大 {limit / 2**20:.0f} MiB"


class BodyLimits:
    """Pure ASGI middleware bounding request bodies before any parser holds them: uploads
    (multipart) to ``max_upload_bytes``, other bodies to ``max_body_bytes`` (413), and JSON
    bodies to ``max_json_depth`` levels of nesting (422), counted while streaming."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "content-length" not in headers and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body (RFC 9112 §6.3): nothing to bound
            return
        content_type = headers.get("content-type", "")
        multipart = content_type.startswith("multipart/")
        limit = (
            self.settings.max_upload_bytes + 64 * 1024  # the form's other fields and boundaries
            if multipart
            else self.settings.max_body_bytes
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse({"detail": too_large(limit)}, status_code=413)(scope, receive, send)
            return
        is_json = "json" in content_type
        max_depth = self.settings.max_json_depth
        state = {"bytes": 0, "depth": 0, "in_string": False, "escaped": False}

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                state["bytes"] += len(body)
                # HTTPException, not a domain error: FastAPI turns any other exception raised
                # while it reads a body into an English 400 "There was an error parsing the body".
                if state["bytes"] > limit:
                    raise HTTPException(413, too_large(limit))
                if is_json and _too_deep(body, state, max_depth):
                    raise HTTPException(422, f"JSON 嵌套超过 {max_depth} 层")
            return message

        await self.app(scope, limited, send)


def _too_deep(chunk: bytes, state: dict, max_depth: int) -> bool:
    depth, in_string, escaped = state["depth"], state["in_string"], state["escaped"]
    deep = False
    for byte in chunk:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > max_depth:
                deep = True
                break
        elif byte in (0x5D, 0x7D):
            depth -= 1
    state.update(depth=depth, in_string=in_string, escaped=escaped)
    return deep
