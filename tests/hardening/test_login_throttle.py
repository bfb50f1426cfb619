"""Login throttling: after N failed logins per username or per client address within the window,
POST /login and POST /api/v1/auth/token answer 429 with Retry-After (issue 7, item 5)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import LoginThrottle
from data.settings import Settings
from tests.conftest import login_token
from tests.planning.conftest import PASSWORD, World, world  # noqa: F401

MAX = 3


@pytest.fixture
def throttled(world: World):  # noqa: F811
    app = create_app(
        Settings(login_max_failures=MAX, login_window_seconds=600), database_url=world.url
    )
    with TestClient(app) as client:
        yield client


def _token(client, username, password, ip=None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}, headers=headers
    )


def test_the_api_throttles_a_username_after_n_failures(throttled):
    for _ in range(MAX):
        assert _token(throttled, "planner", "wrong password").status_code == 401
    refused = _token(throttled, "planner", PASSWORD)  # even the right password now waits
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in refused.json()["detail"]
    assert _token(throttled, "PLANNER ", "x").status_code == 429  # the same name, spelled otherwise


def test_the_login_page_throttles_and_shares_the_count(throttled):
    for _ in range(MAX - 1):
        assert _token(throttled, "street", "wrong password").status_code == 401
    form = {"username": "street", "password": "wrong", "next": "/plan"}
    form["csrf_token"] = login_token(throttled)
    assert throttled.post("/login", data=form).status_code == 401
    form["csrf_token"] = login_token(throttled)
    page = throttled.post("/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in page.text


def test_a_client_address_is_throttled_across_usernames(world):  # noqa: F811
    settings = Settings(login_max_failures=MAX, login_window_seconds=600, trusted_proxy=True)
    with TestClient(create_app(settings, database_url=world.url)) as client:
        for n in range(MAX):
            assert _token(client, f"nobody{n}", "x", ip="203.0.113.9").status_code == 401
        assert _token(client, "admin", PASSWORD, ip="203.0.113.9").status_code == 429
        # another address and the same account: not throttled
        assert _token(client, "admin", PASSWORD, ip="203.0.113.10").status_code == 200


def test_the_window_refills():
    now = [0.0]
    throttle = LoginThrottle.of(MAX, 600)
    throttle.buckets.clock = lambda: now[0]
    for _ in range(MAX):
        throttle.check("u", "a")
        throttle.failed("u", "a")
    with pytest.raises(Exception, match="retry after"):
        throttle.check("u", "a")
    now[0] = 600 / MAX + 1  # one failure's worth of the window later
    throttle.check("u", "a")
