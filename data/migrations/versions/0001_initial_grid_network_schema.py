"""initial grid network schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 20:01:12.975371
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


GRID_TALLY = """
CREATE VIEW grid_tally AS
SELECT g.id AS grid_id, g.plan_id, count(h.id)::int AS households
FROM grid g
LEFT JOIN grid_member m ON m.grid_id = g.id
LEFT JOIN household h
  ON h.building_id = m.building_id AND (m.unit_id IS NULL OR h.unit_id = m.unit_id)
GROUP BY g.id, g.plan_id
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE SCHEMA IF NOT EXISTS protected")
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('action', sa.String(), nullable=False),
    sa.Column('object_type', sa.String(), nullable=False),
    sa.Column('object_id', sa.String(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_geospatial_table('district',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{6}$'", name=op.f('ck_district_code_digits')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_district'))
    )
    op.create_geospatial_index('idx_district_geom', 'district', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('river',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_river'))
    )
    op.create_geospatial_index('idx_river_geom', 'river', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('road',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('level', sa.String(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_road'))
    )
    op.create_geospatial_index('idx_road_geom', 'road', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('street_office',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{9}$' AND left(code, 6) = district_code", name=op.f('ck_street_office_code')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_street_office_district_code_district')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_street_office'))
    )
    op.create_geospatial_index('idx_street_office_geom', 'street_office', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_street_office_district_code'), 'street_office', ['district_code'], unique=False)
    op.create_geospatial_table('community',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('street_code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('office_address', sa.String(), nullable=True),
    sa.Column('office_phone', sa.String(), nullable=True),
    sa.Column('band_min', sa.SmallInteger(), server_default='300', nullable=False),
    sa.Column('band_max', sa.SmallInteger(), server_default='500', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{12}$' AND left(code, 9) = street_code", name=op.f('ck_community_code')),
    sa.CheckConstraint('0 < band_min AND band_min < band_max', name=op.f('ck_community_band')),
    sa.ForeignKeyConstraint(['street_code'], ['street_office.code'], name=op.f('fk_community_street_code_street_office')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_community'))
    )
    op.create_geospatial_index('idx_community_geom', 'community', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_community_street_code'), 'community', ['street_code'], unique=False)
    op.create_geospatial_table('compound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['community_code'], ['community.code'], name=op.f('fk_compound_community_code_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compound'))
    )
    op.create_geospatial_index('idx_compound_geom', 'compound', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_compound_community_code'), 'compound', ['community_code'], unique=False)
    op.create_table('grid_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'archived', name='plan_status'), nullable=False),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['community_code'], ['community.code'], name=op.f('fk_grid_plan_community_code_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_plan'))
    )
    op.create_index(op.f('ix_grid_plan_community_code'), 'grid_plan', ['community_code'], unique=False)
    op.create_index('uq_grid_plan_one_published', 'grid_plan', ['community_code'], unique=True, postgresql_where=sa.text("status = 'published'"))
    op.create_index('uq_grid_plan_version', 'grid_plan', ['community_code', 'version'], unique=True)
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('role', sa.Enum('grid_chief', 'full_time_worker', 'part_time_worker', 'liaison_leader', 'party_group_leader', name='staff_role'), nullable=False),
    sa.Column('work_phone', sa.String(), nullable=True),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('organisation', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['community_code'], ['community.code'], name=op.f('fk_staff_community_code_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff'))
    )
    op.create_index(op.f('ix_staff_community_code'), 'staff', ['community_code'], unique=False)
    op.create_geospatial_table('building',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('road', sa.String(), nullable=False),
    sa.Column('door_number', sa.String(), nullable=False),
    sa.Column('kind', sa.Enum('tower', 'midrise', 'house', 'other', name='building_kind'), nullable=False),
    sa.Column('floors', sa.SmallInteger(), nullable=False),
    sa.Column('geom', Geometry(srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON', 'POINT')", name=op.f('ck_building_geom_kind')),
    sa.CheckConstraint('floors > 0', name=op.f('ck_building_floors')),
    sa.ForeignKeyConstraint(['community_code'], ['community.code'], name=op.f('fk_building_community_code_community')),
    sa.ForeignKeyConstraint(['compound_id'], ['compound.id'], name=op.f('fk_building_compound_id_compound')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building'))
    )
    op.create_geospatial_index('idx_building_geom', 'building', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_building_community_code'), 'building', ['community_code'], unique=False)
    op.create_index(op.f('ix_building_compound_id'), 'building', ['compound_id'], unique=False)
    op.create_geospatial_table('grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('number', sa.SmallInteger(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{15}$'", name=op.f('ck_grid_code_digits')),
    sa.ForeignKeyConstraint(['plan_id'], ['grid_plan.id'], name=op.f('fk_grid_plan_id_grid_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid'))
    )
    op.create_geospatial_index('idx_grid_geom', 'grid', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('uq_grid_plan_code', 'grid', ['plan_id', 'code'], unique=True)
    op.create_index('uq_grid_plan_number', 'grid', ['plan_id', 'number'], unique=True)
    op.create_table('grid_staff',
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('grid_chief', 'full_time_worker', 'part_time_worker', 'liaison_leader', 'party_group_leader', name='staff_role'), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_grid_staff_grid_id_grid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_grid_staff_staff_id_staff')),
    sa.PrimaryKeyConstraint('grid_id', 'staff_id', name=op.f('pk_grid_staff'))
    )
    op.create_index(op.f('ix_grid_staff_staff_id'), 'grid_staff', ['staff_id'], unique=False)
    op.create_table('unit_entrance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.SmallInteger(), nullable=False),
    sa.Column('dwellings', sa.Integer(), nullable=False),
    sa.CheckConstraint('number > 0 AND dwellings >= 0', name=op.f('ck_unit_entrance_counts')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_unit_entrance_building_id_building'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_entrance'))
    )
    op.create_index('uq_unit_entrance_building_number', 'unit_entrance', ['building_id', 'number'], unique=True)
    op.create_table('grid_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_grid_member_building_id_building')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_grid_member_grid_id_grid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['grid_plan.id'], name=op.f('fk_grid_member_plan_id_grid_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit_entrance.id'], name=op.f('fk_grid_member_unit_id_unit_entrance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_member'))
    )
    op.create_index(op.f('ix_grid_member_building_id'), 'grid_member', ['building_id'], unique=False)
    op.create_index(op.f('ix_grid_member_grid_id'), 'grid_member', ['grid_id'], unique=False)
    op.create_index('uq_grid_member_plan_building_unit', 'grid_member', ['plan_id', 'building_id', 'unit_id'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('floor', sa.SmallInteger(), nullable=False),
    sa.Column('room', sa.String(), nullable=False),
    sa.Column('head_name', sa.String(), nullable=False),
    sa.Column('head_phone', sa.String(), nullable=True),
    sa.Column('id_number', sa.String(), nullable=True),
    sa.Column('members', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('members > 0', name=op.f('ck_household_members')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_household_building_id_building')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit_entrance.id'], name=op.f('fk_household_unit_id_unit_entrance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household'))
    )
    op.create_index(op.f('ix_household_building_id'), 'household', ['building_id'], unique=False)
    op.create_index(op.f('ix_household_unit_id'), 'household', ['unit_id'], unique=False)
    op.create_table('liaison_household',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_liaison_household_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_liaison_household_staff_id_staff')),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_liaison_household'))
    )
    op.create_index(op.f('ix_liaison_household_staff_id'), 'liaison_household', ['staff_id'], unique=False)
    op.create_table('household_care',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('elderly_alone', sa.Boolean(), nullable=False),
    sa.Column('low_income', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('left_behind_child', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_care_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_household_care')),
    schema='protected'
    )
    # Households per grid: the tally every rule check and dashboard reads.
    op.execute(GRID_TALLY)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS grid_tally")
    op.drop_table('household_care', schema='protected')
    op.drop_index(op.f('ix_liaison_household_staff_id'), table_name='liaison_household')
    op.drop_table('liaison_household')
    op.drop_index(op.f('ix_household_unit_id'), table_name='household')
    op.drop_index(op.f('ix_household_building_id'), table_name='household')
    op.drop_table('household')
    op.drop_index('uq_grid_member_plan_building_unit', table_name='grid_member', postgresql_nulls_not_distinct=True)
    op.drop_index(op.f('ix_grid_member_grid_id'), table_name='grid_member')
    op.drop_index(op.f('ix_grid_member_building_id'), table_name='grid_member')
    op.drop_table('grid_member')
    op.drop_index('uq_unit_entrance_building_number', table_name='unit_entrance')
    op.drop_table('unit_entrance')
    op.drop_index(op.f('ix_grid_staff_staff_id'), table_name='grid_staff')
    op.drop_table('grid_staff')
    op.drop_index('uq_grid_plan_number', table_name='grid')
    op.drop_index('uq_grid_plan_code', table_name='grid')
    op.drop_geospatial_index('idx_grid_geom', table_name='grid', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grid')
    op.drop_index(op.f('ix_building_compound_id'), table_name='building')
    op.drop_index(op.f('ix_building_community_code'), table_name='building')
    op.drop_geospatial_index('idx_building_geom', table_name='building', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('building')
    op.drop_index(op.f('ix_staff_community_code'), table_name='staff')
    op.drop_table('staff')
    op.drop_index('uq_grid_plan_version', table_name='grid_plan')
    op.drop_index('uq_grid_plan_one_published', table_name='grid_plan', postgresql_where=sa.text("status = 'published'"))
    op.drop_index(op.f('ix_grid_plan_community_code'), table_name='grid_plan')
    op.drop_table('grid_plan')
    op.drop_index(op.f('ix_compound_community_code'), table_name='compound')
    op.drop_geospatial_index('idx_compound_geom', table_name='compound', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('compound')
    op.drop_index(op.f('ix_community_street_code'), table_name='community')
    op.drop_geospatial_index('idx_community_geom', table_name='community', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('community')
    op.drop_index(op.f('ix_street_office_district_code'), table_name='street_office')
    op.drop_geospatial_index('idx_street_office_geom', table_name='street_office', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('street_office')
    op.drop_geospatial_index('idx_road_geom', table_name='road', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('road')
    op.drop_geospatial_index('idx_river_geom', table_name='river', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('river')
    op.drop_geospatial_index('idx_district_geom', table_name='district', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('district')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
    for enum in ("plan_status", "staff_role", "building_kind"):
        op.execute(f"DROP TYPE IF EXISTS {enum}")
    op.execute("DROP SCHEMA IF EXISTS protected")
