"""request rollup: the dashboards' monthly sums, kept true by a trigger; the inboxes' indexes

The requests dashboard (issue 17) summed a year of ``service_request`` rows on every view
(200,000 rows for the sample district). ``request_rollup`` holds, per month (China Standard
Time), community, grid and category, how many requests are in each state and the sums the
dashboard shows (closed, closed on time, seconds to close, rated, satisfied). Statement-level
triggers on ``service_request`` add every insert, update and delete to it in the writing
transaction (one upsert per statement, from the statement's transition tables), so the sums
are always those of the rows; the dashboard reads whole months here and only the partial
months at the window's ends from the requests themselves (``data/requests/views.py``).

The partial months are read from the index on ``created_at``, which now carries the columns
the dashboard sums (an index-only scan). The inboxes read open requests only: partial indexes on
the open states by assignee and by community, each ordered by time limit; the plain ``state``
index (a third of the rows per value) is dropped.

Revision ID: 0006_q_request_rollup
Revises: 0004_requests
Create Date: 2026-12-02 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_q_request_rollup"
down_revision: str | None = "0004_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "dispatched", "accepted", "in_progress", "closed", "rated")
OPEN = "state IN ('pending', 'dispatched', 'accepted', 'in_progress')"
KEY = ("month", "community_code", "grid_code", "category")
SUMMED = ["community_code", "grid_code", "category", "state", "due_at", "closed_at", "rating"]
# Each summed column and its value for one request row ``d`` (before ``d.sign``).
MEASURES = {
    **{f"state_{s}": f"(d.state = '{s}')::int" for s in STATES},
    "closed": "(d.closed_at IS NOT NULL)::int",
    "on_time": "(d.closed_at <= d.due_at IS TRUE)::int",
    "close_seconds": "coalesce(extract(epoch FROM d.closed_at - d.created_at), 0)",
    "rated": "(d.rating IS NOT NULL)::int",
    "satisfied": "(d.rating IN ('satisfied', 'basically') IS TRUE)::int",
}

# ``source`` yields service_request rows with a ``sign`` column: +1 added, -1 taken away.
ADD = f"""
INSERT INTO request_rollup AS r ({", ".join((*KEY, *MEASURES))})
SELECT date_trunc('month', d.created_at AT TIME ZONE 'Asia/Shanghai')::date,
       d.community_code, d.grid_code, d.category,
       {", ".join(f"sum(d.sign * {v})" for v in MEASURES.values())}
FROM ({{source}}) d
GROUP BY 1, 2, 3, 4
HAVING {" OR ".join(f"sum(d.sign * {v}) <> 0" for v in MEASURES.values())}
ORDER BY 1, 2, 3, 4
ON CONFLICT ({", ".join(KEY)}) DO UPDATE
SET {", ".join(f"{m} = r.{m} + excluded.{m}" for m in MEASURES)}
"""

SOURCES = {
    "INSERT": "SELECT 1 AS sign, * FROM new_rows",
    "UPDATE": "SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows",
    "DELETE": "SELECT -1 AS sign, * FROM old_rows",
}

FUNCTION = f"""
CREATE FUNCTION request_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {ADD.format(source=SOURCES["INSERT"])};
  ELSIF TG_OP = 'UPDATE' THEN
    {ADD.format(source=SOURCES["UPDATE"])};
  ELSE
    {ADD.format(source=SOURCES["DELETE"])};
  END IF;
  RETURN NULL;
END
$fn$
"""

TRIGGERS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "request_rollup",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        *(sa.Column(f"state_{s}", sa.Integer(), nullable=False) for s in STATES),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("close_seconds", sa.Numeric(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
    )
    op.create_index(
        "uq_request_rollup_key",
        "request_rollup",
        list(KEY),
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.execute(ADD.format(source="SELECT 1 AS sign, * FROM service_request"))
    op.execute(FUNCTION)
    for event, referencing in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER request_rollup_{event.lower()} AFTER {event} ON service_request "
            f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION request_rollup_apply()"
        )
    op.drop_index("ix_service_request_state", table_name="service_request")
    op.drop_index("ix_service_request_created_at", table_name="service_request")
    op.create_index(
        "ix_service_request_created_at",
        "service_request",
        ["created_at"],
        postgresql_include=SUMMED,
    )
    op.create_index(
        "ix_service_request_open_assignee",
        "service_request",
        ["assignee_staff_id", "due_at"],
        postgresql_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_service_request_open_community",
        "service_request",
        ["community_code", "due_at"],
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_service_request_open_community", table_name="service_request")
    op.drop_index("ix_service_request_open_assignee", table_name="service_request")
    op.drop_index("ix_service_request_created_at", table_name="service_request")
    op.create_index("ix_service_request_created_at", "service_request", ["created_at"])
    op.create_index("ix_service_request_state", "service_request", ["state"])
    for event in TRIGGERS:
        op.execute(f"DROP TRIGGER request_rollup_{event.lower()} ON service_request")
    op.execute("DROP FUNCTION request_rollup_apply()")
    op.drop_table("request_rollup")
