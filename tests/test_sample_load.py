"""The sample loader on an empty, migrated database: it drops the loaded tables' secondary
indexes and foreign keys for the bulk COPY and makes them again, so afterwards the schema is the
migrations' own; a load that fails (here a reference to no row) leaves no row and no missing
index or constraint behind."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from data.db import create_database, drop_database
from data.sample import load, small_district
from data.settings import libpq_url
from data.store import migrate

NAME = "wangge_sample_load_test"

#: Every index and constraint of the public and protected schemas, by name and definition.
SCHEMA_SQL = """
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'protected')
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname IN ('public', 'protected')
ORDER BY 1, 2
"""


@pytest.fixture(scope="module")
def sample():
    return small_district(7)


@pytest.fixture
def empty_url(admin_url: str) -> Iterator[str]:
    drop_database(admin_url, NAME)
    create_database(admin_url, NAME)
    url = make_url(admin_url).set(database=NAME).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield libpq_url(url)
    drop_database(admin_url, NAME)


def _schema(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(SCHEMA_SQL).fetchall()


def test_a_load_leaves_the_migrations_schema_and_every_row(empty_url, sample):
    with psycopg.connect(empty_url) as conn:
        before = _schema(conn)
        counts = load(conn, sample)
        assert _schema(conn) == before
        for table, rows in counts.items():
            name = f"protected.{table}" if table == "household_care" else table
            assert conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == rows, table
        # The sequences continue after the explicit ids.
        top = conn.execute("SELECT max(id) FROM household").fetchone()[0]
        assert conn.execute("SELECT nextval('household_id_seq')").fetchone()[0] == top + 1


def test_a_failed_load_writes_nothing_and_keeps_the_schema(empty_url, sample):
    broken = small_district(7)
    broken.liaison_household.loc[0, "staff_id"] = int(sample.staff["id"].max()) + 1
    with psycopg.connect(empty_url) as conn:
        before = _schema(conn)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            load(conn, broken)
        assert _schema(conn) == before
        assert conn.execute("SELECT count(*) FROM household").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM district").fetchone()[0] == 0
