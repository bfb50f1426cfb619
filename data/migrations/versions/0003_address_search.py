"""address search: pg_trgm and fuzzystrmatch, indexes on road and compound names

Residents type addresses with typos; the lookup scores road and compound names by trigram word
similarity and edit distance (data/queries/lookup.py); the names are few, so all are scored and the
buildings of the best ones are then found by these btree indexes. Both extensions ship with
PostgreSQL's contrib.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
    op.execute("CREATE INDEX ix_building_road ON building (road)")
    op.execute("CREATE INDEX ix_compound_name ON compound (name)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_compound_name")
    op.execute("DROP INDEX IF EXISTS ix_building_road")
    op.execute("DROP EXTENSION IF EXISTS fuzzystrmatch")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
