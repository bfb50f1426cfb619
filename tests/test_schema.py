"""The migrated schema matches the models and enforces the grid network's rules."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.models import Base, GridPlan, PlanStatus
from data.store.migrate import include_object


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_schemas": True, "include_object": include_object}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_every_geometry_column_has_a_gist_index(engine: Engine) -> None:
    with engine.connect() as conn:
        unindexed = conn.execute(
            text(
                """
                SELECT f_table_name, f_geometry_column FROM geometry_columns gc
                WHERE f_table_schema = 'public' AND NOT EXISTS (
                  SELECT 1 FROM pg_indexes i
                  WHERE i.tablename = gc.f_table_name AND i.indexdef ILIKE '%USING gist%'
                    AND i.indexdef LIKE '%' || gc.f_geometry_column || '%')
                """
            )
        ).all()
        srids = conn.execute(text("SELECT DISTINCT srid FROM geometry_columns")).scalars().all()
    assert unindexed == []
    assert srids == [4490]


def test_care_tags_live_in_their_own_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        schema = conn.execute(
            text(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'household_care'"
            )
        ).scalar_one()
    assert schema == "protected"


def test_only_one_published_plan_per_community(session: Session) -> None:
    plan = session.query(GridPlan).filter_by(status=PlanStatus.published).first()
    assert plan is not None
    session.add(
        GridPlan(
            community_code=plan.community_code,
            version=plan.version + 100,
            status=PlanStatus.published,
            created_by="test",
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        (
            "INSERT INTO district (code, name, geom) VALUES ('52060', 'x', "
            "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4490)))",
            "ck_district_code_digits",
        ),
        (
            "INSERT INTO community (code, street_code, name, geom) "
            "SELECT '520699001001', code, 'x', geom FROM street_office LIMIT 1",
            "ck_community_code",
        ),
        (
            "UPDATE grid SET code = '12' WHERE id = (SELECT min(id) FROM grid)",
            "ck_grid_code_digits",
        ),
        (
            "UPDATE community SET band_min = 600 WHERE code = (SELECT min(code) FROM community)",
            "ck_community_band",
        ),
        (
            "UPDATE building SET geom = ST_GeomFromText('LINESTRING(0 0,1 1)', 4490) "
            "WHERE id = (SELECT min(id) FROM building)",
            "ck_building_geom_kind",
        ),
    ],
    ids=["district-code", "community-code-prefix", "grid-code", "band", "building-geom"],
)
def test_codes_and_shapes_are_checked(session: Session, statement: str, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        session.execute(text(statement))
