"""rate limits shared by every server process: one UNLOGGED row per client and budget

Lookups and failed logins were counted in each process's memory, so N workers gave a client N
times the budget and a restart forgot it. The budgets now live here, on the primary, updated
by one atomic upsert per request (data/access/limits.py). UNLOGGED: no WAL for a counter (a
crash forgets the budgets), and standbys never see it.

Revision ID: 0004_s3_limits
Revises: 0003
Create Date: 2026-12-02 15:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_s3_limits"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE UNLOGGED TABLE rate_limit ("
        " key text NOT NULL CONSTRAINT pk_rate_limit PRIMARY KEY,"
        " tat double precision NOT NULL)"
    )


def downgrade() -> None:
    op.drop_table("rate_limit")
