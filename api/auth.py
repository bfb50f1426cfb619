"""Who is calling, and what they may see: dependencies, never checks pasted into handlers.

Pages authenticate with an HttpOnly SameSite session cookie; the API also takes the same kind of
token as ``Authorization: Bearer``. A cookie-authenticated write must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.deps import SessionDep
from data.access.accounts import resolve_session
from data.access.scope import Scope, scope_of
from data.models import Account, AuthSession, Community

SESSION_COOKIE = "wangge_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


@dataclass(frozen=True)
class Principal:
    account: Account
    auth: AuthSession
    scope: Scope
    by_cookie: bool


async def _csrf_token_sent(request: Request) -> str | None:
    if header := request.headers.get("x-csrf-token"):
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def current_principal(request: Request, session: SessionDep) -> Principal:
    """The logged-in account and its scope; CSRF-checked for cookie-authenticated writes."""
    header = request.headers.get("authorization", "")
    by_cookie = not header.lower().startswith("bearer ")
    token = request.cookies.get(SESSION_COOKIE) if by_cookie else header[7:].strip()
    found = resolve_session(session, token) if token else None
    if found is None:
        raise LoginRequired()
    account, auth = found
    if by_cookie and request.method not in SAFE_METHODS:
        sent = await _csrf_token_sent(request)
        if not sent or not secrets.compare_digest(sent, auth.csrf_token):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF 校验失败，请刷新页面后重试")
    return Principal(account, auth, scope_of(session, account), by_cookie)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def current_scope(principal: PrincipalDep) -> Scope:
    return principal.scope


ScopeDep = Annotated[Scope, Depends(current_scope)]


def planner_scope(scope: ScopeDep) -> Scope:
    """The scope of an account that may plan grids; grid workers get 403."""
    if not scope.can_plan:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只有规划人员可以修改网格方案")
    return scope


PlannerDep = Annotated[Scope, Depends(planner_scope)]


def community_in_scope(code: str, scope: ScopeDep, session: SessionDep) -> Community:
    """The community named in the path, or 404 when it is outside the caller's scope."""
    community = session.get(Community, code) if scope.sees_community(code) else None
    if community is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"社区 {code} 不存在或不在您的管辖范围内")
    return community


ScopedCommunity = Annotated[Community, Depends(community_in_scope)]
