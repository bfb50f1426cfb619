"""Security headers on every answer, and no stack trace or SQL in any answer (issue 7, item 5)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.errors import INTERNAL_ERROR
from api.security import content_security_policy
from data.settings import Settings


@pytest.mark.parametrize("path", ["/find", "/map", "/healthz", "/login", "/api/v1/stats"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    for directive in (
        "script-src 'self' 'nonce-",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def _script_src(response) -> str:
    policy = response.headers["content-security-policy"]
    return next(d for d in policy.split("; ") if d.startswith("script-src"))


@pytest.mark.parametrize("path", ["/find", "/map", "/g/520602001001001"])
def test_inline_scripts_run_only_with_the_requests_nonce(client, path):
    """No 'unsafe-inline' for scripts (issue 13, item 2): each inline script carries the nonce
    of its response's policy, and every response has a new nonce."""
    first, second = client.get(path), client.get(path)
    script_src = _script_src(first)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    nonce = script_src.split("'nonce-")[1].split("'")[0]
    assert len(nonce) >= 22 and nonce not in _script_src(second)
    marked = first.text.count(f'<script nonce="{nonce}">')
    assert marked >= 2  # folium's global switches and the page's script
    assert first.text.count("<script") == marked + first.text.count("<script src=")


def test_errors_and_static_files_carry_them_too(client):
    assert client.get("/no/such/page").headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in client.get("/static/vendor/leaflet/leaflet.js").headers


def test_the_basemap_hosts_are_allowed_for_images():
    assert "https://*.tianditu.gov.cn" in content_security_policy(
        Settings(basemap="tianditu", tianditu_key="k" * 32), "n"
    )
    assert "https://*.is.autonavi.com" in content_security_policy(Settings(basemap="amap"), "n")
    assert "autonavi" not in content_security_policy(Settings(basemap="none"), "n")


def test_an_unexpected_error_is_a_generic_zh_cn_500_and_is_logged(database_url, caplog):
    app = create_app(database_url=database_url)

    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("secret detail: SELECT password FROM account")

    @app.get("/test-only/sql")
    def bad_sql() -> None:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT no_such_column FROM account"))

    with (
        caplog.at_level(logging.ERROR, "wangge"),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        for path in ("/test-only/boom", "/test-only/sql"):
            response = client.get(path)
            assert response.status_code == 500
            assert response.json() == {"detail": INTERNAL_ERROR}
            for leak in ("Traceback", "SELECT", "password", "no_such_column", "File "):
                assert leak not in response.text
    assert "secret detail" in caplog.text  # the log keeps what the client never sees
    assert "RuntimeError" in caplog.text
