"""Staff accounts, password hashing (argon2) and server-side sessions.

A session token is 32 random bytes shown once to the client (cookie or API token); the database
keeps only its SHA-256, so a leaked table does not leak sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data.models import Account, AccountRole, AuthSession, Community, Staff, StreetOffice

HASHER = PasswordHasher()
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
# A real hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = HASHER.hash("not a password of anyone")


class AccountError(ValueError):
    """An account that cannot be created as asked."""


@dataclass(frozen=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    session: Session,
    username: str,
    password: str,
    role: AccountRole,
    *,
    display_name: str | None = None,
    street_code: str | None = None,
    community_code: str | None = None,
    staff_id: int | None = None,
) -> Account:
    """Add an account; the scope column that the role needs must be given."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少要有 {MIN_PASSWORD_LENGTH} 个字符")
    if session.scalar(select(Account.id).where(Account.username == username)):
        raise AccountError(f"用户名 {username!r} 已被占用")
    needed = {
        AccountRole.street_planner: ("街道规划员", "街道办代码", street_code),
        AccountRole.community_planner: ("社区规划员", "社区代码", community_code),
        AccountRole.grid_worker: ("网格员", "人员编号", staff_id),
    }.get(role)
    if needed and needed[2] is None:
        raise AccountError(f"{role.value}（{needed[0]}）账号必须指定{needed[1]}")
    for model, key, what in [
        (StreetOffice, street_code, "街道办代码"),
        (Community, community_code, "社区代码"),
        (Staff, staff_id, "人员编号"),
    ]:
        if key is not None and session.get(model, key) is None:
            raise AccountError(f"没有{what}为 {key!r} 的记录")
    account = Account(
        username=username,
        display_name=display_name or username,
        password_hash=HASHER.hash(password),
        role=role,
        street_code=street_code,
        community_code=community_code,
        staff_id=staff_id,
    )
    session.add(account)
    session.flush()
    return account


def authenticate(session: Session, username: str, password: str) -> Account | None:
    """The active account with this username and password, or None."""
    account = session.scalar(
        select(Account).where(Account.username == username, Account.active.is_(True))
    )
    try:
        HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return account


def open_session(session: Session, account: Account) -> IssuedSession:
    """Start a session for ``account``; the caller commits."""
    token = secrets.token_urlsafe(32)
    issued = IssuedSession(
        token=token,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + SESSION_LIFETIME,
    )
    session.add(
        AuthSession(
            token_hash=_digest(token),
            account_id=account.id,
            csrf_token=issued.csrf_token,
            expires_at=issued.expires_at,
        )
    )
    return issued


def resolve_session(session: Session, token: str) -> tuple[Account, AuthSession] | None:
    """The account and session behind a token, unless expired or deactivated."""
    row = session.execute(
        select(Account, AuthSession)
        .join(AuthSession, AuthSession.account_id == Account.id)
        .where(
            AuthSession.token_hash == _digest(token),
            AuthSession.expires_at > datetime.now(UTC),
            Account.active.is_(True),
        )
    ).first()
    return (row[0], row[1]) if row else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))
