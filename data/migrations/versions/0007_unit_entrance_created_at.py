"""unit entrances record when they were added, so re-balancing can tell the new ones

Re-balancing a draft counts the households it moves to another grid, because their grid
worker changes. A unit entrance built since the published plan has households with no grid
worker yet, and ``geo.rebalance.rebalance(new_units=...)`` places them for free; the database
did not say which entrances those are. ``created_at`` does: an entrance added after the
published plan's ``published_at`` is new to it (``data.plans.engine.new_since_published``).

Existing rows get '-infinity' (nothing standing today counts as new); rows added from now on
get the time of their transaction.

Revision ID: 0007_unit_created_at
Revises: 0006_q_request_rollup
Create Date: 2026-12-03 11:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_unit_created_at"
down_revision: str | None = "0006_q_request_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a constant default fills the existing rows without rewriting the table; then now()
    op.execute(
        "ALTER TABLE unit_entrance"
        " ADD COLUMN created_at timestamptz NOT NULL DEFAULT '-infinity'"
    )
    op.execute("ALTER TABLE unit_entrance ALTER COLUMN created_at SET DEFAULT now()")


def downgrade() -> None:
    op.drop_column("unit_entrance", "created_at")
