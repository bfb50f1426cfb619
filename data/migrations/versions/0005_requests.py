"""requests: residents' requests, their steps and photos, and the app's shared secrets

群众诉求 routed to grids (issue 17): ``service_request`` (tracking code, category, text, point in
EPSG:4490, grid/community/assignee, state, SLA due time, optional call-back phone),
``request_event`` (every state change with actor, time, reason and the public note) and
``request_photo`` (re-encoded JPEG bytes, metadata stripped). ``app_secret`` holds the key that
signs the residents' human check, generated here so every worker process shares it.

Revision ID: 0004_requests
Revises: 0004_s3_limits
Create Date: 2026-12-02 15:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0004_requests"
down_revision: str | None = "0004_s3_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_secret",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secret")),
    )
    op.execute(
        sa.text("INSERT INTO app_secret (name, value) VALUES ('human_check', :v)").bindparams(
            v=secrets.token_hex(32)
        )
    )
    op.create_geospatial_table(
        "service_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("assignee_kind", sa.String(length=16), nullable=False),
        sa.Column("assignee_staff_id", sa.Integer(), nullable=True),
        sa.Column("assignee_department", sa.String(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_public", sa.Text(), nullable=True),
        sa.Column("result_internal", sa.Text(), nullable=True),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "assignee_kind IN ('staff', 'community', 'department')",
            name=op.f("ck_service_request_assignee_kind"),
        ),
        sa.CheckConstraint("level BETWEEN 0 AND 2", name=op.f("ck_service_request_level")),
        sa.CheckConstraint(
            "rating IS NULL OR rating IN ('satisfied', 'basically', 'unsatisfied')",
            name=op.f("ck_service_request_rating"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'dispatched', 'accepted', 'in_progress', 'closed', 'rated')",
            name=op.f("ck_service_request_state"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_staff_id"],
            ["staff.id"],
            name=op.f("fk_service_request_assignee_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["community_code"],
            ["community.code"],
            name=op.f("fk_service_request_community_code_community"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request")),
        sa.UniqueConstraint("code", name=op.f("uq_service_request_code")),
    )
    op.create_geospatial_index(
        "idx_service_request_geom",
        "service_request",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    for column in ("assignee_staff_id", "community_code", "created_at", "grid_code", "state"):
        op.create_index(
            op.f(f"ix_service_request_{column}"), "service_request", [column], unique=False
        )
    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("public_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_event_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_event")),
    )
    op.create_index(
        op.f("ix_request_event_request_id"), "request_event", ["request_id"], unique=False
    )
    op.create_table(
        "request_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["request_event.id"],
            name=op.f("fk_request_photo_event_id_request_event"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_photo_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photo")),
    )
    op.create_index(
        op.f("ix_request_photo_request_id"), "request_photo", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("request_photo")
    op.drop_table("request_event")
    op.drop_geospatial_table("service_request")
    op.drop_table("app_secret")
