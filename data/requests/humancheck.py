"""A small arithmetic question that keeps scripted floods of anonymous requests out.

The server signs the answer with a key shared by every worker process (``app_secret``), so no
state is kept: the page sends back the token and the resident's answer; a token is good for
``TTL_S`` seconds. It is a speed bump beside the rate limit, not a CAPTCHA.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

TTL_S = 30 * 60
DIGITS = "零一二三四五六七八九十"


class CheckFailed(ValueError):
    """A wrong, expired or forged answer."""


@dataclass(frozen=True)
class Challenge:
    question: str
    token: str


def _mac(key: str, answer: int, expires: int, nonce: str) -> str:
    message = f"{answer}|{expires}|{nonce}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def challenge(key: str, *, now: float | None = None) -> Challenge:
    """A new question (in Chinese numerals, e.g. “三加五等于几？”) and its signed token."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    expires = int((now if now is not None else time.time()) + TTL_S)
    nonce = secrets.token_hex(8)
    question = f"{DIGITS[a]}加{DIGITS[b]}等于几？"
    return Challenge(question, f"{expires}.{nonce}.{_mac(key, a + b, expires, nonce)}")


def verify(key: str, token: str, answer: str, *, now: float | None = None) -> None:
    """Raise :class:`CheckFailed` unless ``answer`` answers the question ``token`` was made for."""
    try:
        expires_text, nonce, mac = token.split(".")
        expires, given = int(expires_text), int(answer.strip())
    except ValueError as exc:
        raise CheckFailed("请填写验证问题的答案（数字）") from exc
    if expires < (now if now is not None else time.time()):
        raise CheckFailed("验证问题已过期，请刷新页面后重新回答")
    if not hmac.compare_digest(mac, _mac(key, given, expires, nonce)):
        raise CheckFailed("验证问题的答案不正确")
