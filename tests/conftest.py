"""Fixtures: a real PostGIS test database, migrated and holding the one-community fixture.

Without DATABASE_URL the project-local cluster is started; with it, the tests create their own
database ``<name>_test`` on that server. Each ``session`` test runs in a transaction that is
rolled back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.app import create_app
from data import migrate
from data.db import create_database, drop_database, make_engine, resolve_url
from data.settings import Settings
from data.setup import load_sample

FIXTURE_SEED = 7


def _server_urls() -> tuple[str, str]:
    """(admin URL, test database URL) on the server the settings name."""
    url = make_url(resolve_url(Settings()))
    test_name = os.environ.get("WANGGE_TEST_DB", f"{url.database}_test")
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    return admin, url.set(database=test_name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _server_urls()[0]


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """A fresh test database: migrated, with the one-community fixture loaded."""
    _, url = _server_urls()
    name = make_url(url).database
    drop_database(admin_url, name)
    create_database(admin_url, name)
    migrate.upgrade(url)
    engine = make_engine(url)
    load_sample(engine, FIXTURE_SEED, communities=1)
    engine.dispose()
    yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose changes, committed or not, are rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            yield session
        outer.rollback()


@pytest.fixture(scope="session")
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(database_url=database_url)) as client:
        yield client
