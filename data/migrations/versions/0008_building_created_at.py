"""buildings record when they were added, so a new building can be told from a standing one

A building imported after a community's plans were drawn was a member of no grid: its
households had no grid worker, the address lookup did not find it and the plan views refused
the whole community ("楼栋 X 不在任何网格中"). The import now places it in the grid it lies in
(``data.plans.membership``); ``created_at`` tells re-balancing that its households are new to
the published plan, as ``unit_entrance.created_at`` does for entrances (0007).

Existing rows get '-infinity' (nothing standing today counts as new); rows added from now on
get the time of their transaction.

Revision ID: 0008_building_created_at
Revises: 0007_unit_created_at
Create Date: 2026-12-03 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_building_created_at"
down_revision: str | None = "0007_unit_created_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a constant default fills the existing rows without rewriting the table; then now()
    op.execute(
        "ALTER TABLE building ADD COLUMN created_at timestamptz NOT NULL DEFAULT '-infinity'"
    )
    op.execute("ALTER TABLE building ALTER COLUMN created_at SET DEFAULT now()")


def downgrade() -> None:
    op.drop_column("building", "created_at")
