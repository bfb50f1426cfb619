"""Fixtures: a real PostGIS test database, migrated and holding the one-community fixture.

Without DATABASE_URL the project-local cluster is started; with it, the tests create their own
databases ``<name>_test*`` on that server. Each ``session`` test runs in a transaction that is
rolled back; tests that must commit take ``isolated_url``, a fresh copy of the fixture.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import hypothesis
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.app import create_app
from data.db import create_database, drop_database, make_engine, resolve_url
from data.settings import Settings, libpq_url
from data.store import migrate
from data.store.setup import load_sample

FIXTURE_SEED = 7
FIXTURE_COMMUNITIES = 1

# Property tests draw new examples on every developer run, to find what nobody thought of; CI
# (``HYPOTHESIS_PROFILE=ci`` in ``.ci/run``) draws the same ones every time, so the gate says
# whether a change broke something rather than whether a new example turned up. An example that
# fails anywhere is pinned with ``@example``.
hypothesis.settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _server_urls() -> tuple[str, str]:
    """(admin URL, test database URL) on the server the settings name."""
    url = make_url(resolve_url(Settings()))
    test_name = os.environ.get("WANGGE_TEST_DB", f"{url.database}_test")
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    return admin, url.set(database=test_name).render_as_string(hide_password=False)


def _clone(admin_url: str, template: str, name: str) -> str:
    """A new database ``name`` copied from ``template`` (fast: PostgreSQL copies the files)."""
    drop_database(admin_url, name)
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _server_urls()[0]


@pytest.fixture(scope="session")
def template_name(admin_url: str) -> str:
    """A database migrated and holding the one-community fixture, never connected to after:
    every test database is cloned from it."""
    name = make_url(_server_urls()[1]).database + "_tpl"
    drop_database(admin_url, name)
    create_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = make_engine(url, poolclass=NullPool)
    load_sample(engine, FIXTURE_SEED, communities=FIXTURE_COMMUNITIES)
    engine.dispose()
    return name


@pytest.fixture(scope="session")
def database_url(admin_url: str, template_name: str) -> str:
    """The shared test database: tests change it only inside rolled-back transactions."""
    return _clone(admin_url, template_name, make_url(_server_urls()[1]).database)


@pytest.fixture
def isolated_url(admin_url: str, template_name: str) -> Iterator[str]:
    """A fresh copy of the fixture for one test that commits (publishing, browser flows)."""
    name = make_url(_server_urls()[1]).database + "_iso"
    yield _clone(admin_url, template_name, name)
    drop_database(admin_url, name)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(database_url: str, workers: int = 1, **env: str) -> Iterator[str]:
    """The app served by ``wangge serve`` (a real uvicorn, as in production) on a free loopback
    port; yields its base URL."""
    with launched(database_url, workers, **env) as (base, _):
        yield base


@contextmanager
def launched(
    database_url: str, workers: int = 1, **env: str
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like ``serving``, also yielding the process (for tests that kill it)."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "DATABASE_URL": libpq_url(database_url), **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: importing the app takes a few seconds of CPU, far longer on a loaded machine.
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A folder for a throwaway PostgreSQL cluster, removed afterwards. Not under pytest's
    temporary folder: every pytest session on the machine resets that to 0700, and a server
    running as ``postgres`` reads its own files by absolute path (``pg_ctl status``,
    ``pg_control_system()``)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def grid_one(url: str) -> tuple[str, tuple[float, float]]:
    """The first community's code and a point (lon, lat) inside its published grid 1."""
    with psycopg.connect(libpq_url(url)) as conn:
        community, lon, lat = conn.execute(
            "SELECT p.community_code, ST_X(s.p), ST_Y(s.p) FROM grid g "
            "JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published' "
            "CROSS JOIN LATERAL (SELECT ST_PointOnSurface(g.geom) p) s WHERE g.number = 1 "
            "ORDER BY p.community_code LIMIT 1"
        ).fetchone()
    return community, (lon, lat)


def publish_renamed(url: str, community: str, name: str) -> None:
    """Publish a new version of ``community``'s plan in which grid 1 is called ``name``
    (committed: the previous version is archived)."""
    from sqlalchemy import text

    from data.plans.versions import archive_published, make_published, start_draft

    engine = make_engine(url, poolclass=NullPool)
    with Session(engine) as session, session.begin():
        draft = start_draft(session, community, "test")
        session.execute(
            text("UPDATE grid SET name = :name WHERE plan_id = :plan AND number = 1"),
            {"name": name, "plan": draft.id},
        )
        archive_published(session, community)
        make_published(session, draft, "test")
    engine.dispose()


def wait_until(page, expression: str, timeout_s: float = 15.0, arg=None) -> None:
    """Poll a JavaScript expression until it is truthy. Playwright's ``wait_for_function`` evals
    its predicate inside the page, which the app's Content-Security-Policy (no 'unsafe-eval')
    forbids; ``page.evaluate`` runs through the DevTools protocol and is not blocked."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression} still false after {timeout_s} s")
        page.wait_for_timeout(100)


def login_token(client) -> str:
    """The CSRF token of a freshly opened login form (its cookie stays in ``client``)."""
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
