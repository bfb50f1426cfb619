"""Logging in and out: the login page, the session cookie, API tokens.

The login form is protected against login CSRF (a foreign site logging the browser in to an
account of its choosing) by a double-submit token: each rendering of the form sets a fresh
random token in an HttpOnly, SameSite=Strict cookie scoped to ``/login`` and in a hidden field,
and ``POST /login`` proceeds only when both are present and equal. A cross-site form cannot read
the field's value, and the browser does not send the cookie with it. ``POST /api/v1/auth/token``
takes JSON and answers a token, not a cookie, and needs no CSRF token.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.auth import SESSION_COOKIE, BadCredentials, PrincipalDep, home_of
from api.deps import SessionDep
from api.ratelimit import LoginThrottled, client_address
from api.templating import templates
from data.access.accounts import authenticate, close_session, open_session
from data.access.audit import record
from data.access.scope import scope_of

pages = APIRouter(tags=["auth"], include_in_schema=False)
api = APIRouter(prefix="/auth", tags=["auth"])


LOGIN_CSRF_COOKIE = "wangge_login_csrf"
LOGIN_CSRF_FAILED = "登录页面已过期或来源不明，请在本页重新输入用户名和密码"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host ("" when none is given:
    the account's own landing page, :func:`api.auth.home_of`)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return ""


def _login_form(
    request: Request,
    next: str | None,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The login page with a fresh CSRF token in its hidden field and in the cookie."""
    token = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"next": _safe_next(next), "error": error, "csrf_token": token},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


def _login_csrf_ok(request: Request, sent: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not sent or not expected:
        return False
    return secrets.compare_digest(sent, expected)


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_form(request, next)


@pages.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str | None, Form()] = None,
    csrf_token: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    if not _login_csrf_ok(request, csrf_token):
        return _login_form(request, next, LOGIN_CSRF_FAILED, status.HTTP_403_FORBIDDEN)
    throttle, address = request.app.state.login_throttle, client_address(request)
    try:
        throttle.attempt(request.app.state.engine, username, address)
    except LoginThrottled as exc:
        return _login_form(
            request,
            next,
            "登录失败次数过多，请稍后再试",
            status.HTTP_429_TOO_MANY_REQUESTS,
            {"Retry-After": str(max(1, round(exc.retry_after)))},
        )
    account = authenticate(session, username, password)
    if account is None:
        record(session, username, "login_failed", "account", None)
        session.commit()
        return _login_form(request, next, "用户名或密码错误", status.HTTP_401_UNAUTHORIZED)
    throttle.succeeded(request.app.state.engine, username, address)
    issued = open_session(session, account)
    record(session, account.username, "login", "account", str(account.id))
    session.commit()
    target = _safe_next(next) or home_of(scope_of(session, account))
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        expires=issued.expires_at,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@pages.post("/logout")
def logout(request: Request, principal: PrincipalDep, session: SessionDep) -> Response:
    close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    record(session, principal.account.username, "logout", "account", str(principal.account.id))
    session.commit()
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class Credentials(BaseModel):
    username: str
    password: str


class Token(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    communities: list[str] | None
    csrf_token: str | None


@api.post(
    "/token",
    response_model=Token,
    responses={401: {"description": "用户名或密码错误"}, 429: {"description": "登录失败次数过多"}},
)
def issue_token(request: Request, credentials: Credentials, session: SessionDep) -> Token:
    """Exchange a username and password for an API token (``Authorization: Bearer``)."""
    throttle, address = request.app.state.login_throttle, client_address(request)
    throttle.attempt(request.app.state.engine, credentials.username, address)
    account = authenticate(session, credentials.username, credentials.password)
    if account is None:
        record(session, credentials.username, "login_failed", "account", None)
        session.commit()
        raise BadCredentials("用户名或密码错误")
    throttle.succeeded(request.app.state.engine, credentials.username, address)
    issued = open_session(session, account)
    record(session, account.username, "token", "account", str(account.id))
    session.commit()
    return Token(token=issued.token, expires_at=issued.expires_at)


@api.get("/me", response_model=Me)
def me(principal: PrincipalDep) -> Me:
    """The caller's account and scope (and, for a browser session, its CSRF token)."""
    scope = principal.scope
    return Me(
        username=principal.account.username,
        display_name=principal.account.display_name,
        role=principal.account.role.value,
        communities=sorted(scope.communities) if scope.communities is not None else None,
        csrf_token=principal.auth.csrf_token if principal.by_cookie else None,
    )
