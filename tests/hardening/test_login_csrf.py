"""Login CSRF (issue 13, item 6): POST /login needs the token of a login form this browser
opened (double submit: hidden field and cookie); the API's token route does not."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth import SESSION_COOKIE
from api.routes.auth import LOGIN_CSRF_COOKIE, LOGIN_CSRF_FAILED
from tests.conftest import login_token
from tests.planning.conftest import PASSWORD, World


def _post(client: TestClient, **fields: str):
    form = {"username": "planner", "password": PASSWORD, "next": "/plan", **fields}
    return client.post("/login", data=form, follow_redirects=False)


def test_a_login_without_the_forms_token_is_refused_in_chinese(world: World):
    browser = TestClient(world.clients["anonymous"].app)
    refused = _post(browser)  # a foreign page's form: no token, no cookie
    assert refused.status_code == 403
    assert LOGIN_CSRF_FAILED in refused.text
    assert SESSION_COOKIE not in refused.cookies
    # the refusal's page is itself a working form: its token is the cookie it set
    assert LOGIN_CSRF_COOKIE in refused.cookies

    attacker = TestClient(world.clients["anonymous"].app)
    stolen = login_token(attacker)  # a valid pair, but the attacker's, not this browser's
    login_token(browser)
    assert _post(browser, csrf_token=stolen).status_code == 403
    assert _post(browser, csrf_token="").status_code == 403

    cookieless = TestClient(world.clients["anonymous"].app)
    assert _post(cookieless, csrf_token=stolen).status_code == 403  # the cookie is required too


def test_a_login_from_the_form_succeeds_and_the_token_route_needs_none(world: World):
    browser = TestClient(world.clients["anonymous"].app)
    page = browser.get("/login")
    assert 'type="hidden" name="csrf_token"' in page.text
    accepted = _post(browser, csrf_token=login_token(browser))
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == "/plan"
    assert SESSION_COOKIE in accepted.cookies

    api = TestClient(world.clients["anonymous"].app)
    issued = api.post("/api/v1/auth/token", json={"username": "planner", "password": PASSWORD})
    assert issued.status_code == 200
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued.json()['token']}"})
    assert me.json()["username"] == "planner"
