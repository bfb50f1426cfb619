"""The audit log: who did what, when, on which object, and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from data.models import AuditLog


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    *,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the caller's transaction (it commits with the change it records)."""
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            detail=detail,
        )
    )
