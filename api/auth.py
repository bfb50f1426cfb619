"""Who is calling, and what they may see: dependencies, never checks pasted into handlers.

Pages authenticate with an HttpOnly SameSite session cookie; the API also takes the same kind of
token as ``Authorization: Bearer``. A cookie-authenticated write must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``).

The dependencies that query the database are plain functions, so FastAPI runs them in its
thread pool rather than blocking the event loop; only reading the CSRF form field is async.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep
from data.access.accounts import resolve_session
from data.access.scope import Scope, scope_of
from data.models import Account, AccountRole, AuthSession, Community

SESSION_COOKIE = "wangge_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


class NotAuthorised(PermissionError):
    """Something the caller's role may not do or see: 403."""


class BadCredentials(PermissionError):
    """A wrong username or password on the API: 401."""


class OutOfScope(LookupError):
    """An area outside the caller's scope, answered as if it did not exist: 404."""


@dataclass(frozen=True)
class Principal:
    account: Account
    auth: AuthSession
    scope: Scope
    by_cookie: bool


async def csrf_token_sent(request: Request) -> str | None:
    """The CSRF token a write carries, from the header or the form (reading a form is async)."""
    if request.method in SAFE_METHODS:
        return None
    if header := request.headers.get("x-csrf-token"):
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


# The two ways in, declared so that the OpenAPI document (and /docs' "Authorize") knows them.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="POST /api/v1/auth/token 换得的令牌：Authorization: Bearer <token>",
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="登录页 /login 设置的会话 Cookie；写操作还需请求头 X-CSRF-Token",
)


def current_principal(
    request: Request,
    session: SessionDep,
    sent: Annotated[str | None, Depends(csrf_token_sent)],
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
    _session: Annotated[str | None, Depends(session_cookie)] = None,
) -> Principal:
    """The logged-in account and its scope; CSRF-checked for cookie-authenticated writes.

    ``_token`` and ``_session`` only declare the two ways in to the OpenAPI document; the
    request is read here so that a route may also call this function itself."""
    header = request.headers.get("authorization", "")
    by_cookie = not header.lower().startswith("bearer ")
    token = request.cookies.get(SESSION_COOKIE) if by_cookie else header[7:].strip()
    found = resolve_session(session, token) if token else None
    if found is None:
        raise LoginRequired()
    account, auth = found
    writes = by_cookie and request.method not in SAFE_METHODS
    if writes and not (sent and secrets.compare_digest(sent, auth.csrf_token)):
        raise NotAuthorised("CSRF 校验失败，请刷新页面后重试")
    return Principal(account, auth, scope_of(session, account), by_cookie)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def viewer(request: Request, session: SessionDep) -> Scope | None:
    """The scope of a staff member looking at a public page with their session cookie, or
    None (anonymous, expired): public pages only add links, never data, for it."""
    token = request.cookies.get(SESSION_COOKIE)
    found = resolve_session(session, token) if token else None
    return scope_of(session, found[0]) if found else None


ViewerDep = Annotated[Scope | None, Depends(viewer)]


def home_of(scope: Scope) -> str:
    """Where an account lands after logging in: planners on their communities; a grid worker
    (until their own page exists) on the public page of the first grid they serve."""
    if scope.can_plan or not scope.grid_codes:
        return "/plan"
    return f"/g/{min(scope.grid_codes)}"


def current_scope(principal: PrincipalDep) -> Scope:
    return principal.scope


ScopeDep = Annotated[Scope, Depends(current_scope)]


def planner_scope(scope: ScopeDep) -> Scope:
    """The scope of an account that may plan grids; grid workers get 403."""
    if not scope.can_plan:
        raise NotAuthorised("只有规划人员可以修改网格方案")
    return scope


PlannerDep = Annotated[Scope, Depends(planner_scope)]


def community_in_scope(code: str, scope: ScopeDep, session: SessionDep) -> Community:
    """The community named in the path, or 404 when it is outside the caller's scope."""
    community = session.get(Community, code) if scope.sees_community(code) else None
    if community is None:
        raise OutOfScope(f"社区 {code} 不存在或不在您的管辖范围内")
    return community


ScopedCommunity = Annotated[Community, Depends(community_in_scope)]


@dataclass(frozen=True)
class StaffActor:
    """An authorised staff member, as the audit log names them."""

    name: str
    community_codes: frozenset[str] | None = None  # None: the whole district


def staff_user(principal: PrincipalDep) -> StaffActor:
    """A logged-in planner (street, community or admin); others get 401/403.

    Buildings and compounds (not personal data) leave and come in through this dependency.
    """
    if not principal.scope.can_plan:
        raise NotAuthorised("只有规划人员可以导入或导出楼栋数据")
    return StaffActor(f"account:{principal.account.username}", principal.scope.communities)


def personal_data_user(principal: PrincipalDep) -> StaffActor:
    """Who may export or import household records on the API: a community planner, for their
    own community only (PIPL: minimum access; every processing is recorded with its reason).
    Operators use ``wangge export households`` / ``wangge import households``, also audited."""
    if principal.account.role is not AccountRole.community_planner:
        raise NotAuthorised("住户个人信息只能由本社区的规划人员导出或导入")
    return StaffActor(f"account:{principal.account.username}", principal.scope.communities)


StaffUser = Annotated[StaffActor, Depends(staff_user)]
PersonalDataUser = Annotated[StaffActor, Depends(personal_data_user)]


def area_in_scope(actor: StaffActor | None, area: str) -> str:
    """The area (district, street or community code) a scoped actor may work on.

    Unscoped callers (public layers, admins) keep what they asked; a scoped one must name a
    community of theirs, or a street office all of whose communities are theirs; an empty
    area means their only community.
    """
    if actor is None or actor.community_codes is None:
        return area
    codes = actor.community_codes
    if not area and len(codes) == 1:
        return next(iter(codes))
    if area in codes or (len(area) == 9 and codes and all(c.startswith(area) for c in codes)):
        return area
    raise NotAuthorised(f"区域 {area or '（全区）'} 不在您的管辖范围内")
