"""The README's first command, end to end: set up an empty database (migrate, load the whole
sample district), serve it, answer /healthz and /api/v1/stats; a second set-up keeps the data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from data.db import create_database, drop_database
from tests.conftest import serving

pytestmark = pytest.mark.slow


@pytest.fixture
def empty_url(admin_url: str, database_url: str) -> Iterator[str]:
    name = make_url(database_url).database + "_serve"
    drop_database(admin_url, name)
    create_database(admin_url, name)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    drop_database(admin_url, name)


def setup(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "setup"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DATABASE_URL": url},
    )


def test_setup_serves_the_whole_sample_district_and_is_idempotent(empty_url: str) -> None:
    first = setup(empty_url)
    assert first.returncode == 0, first.stderr
    assert "示例城区已载入" in first.stderr
    with serving(empty_url) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "database": "ok"}
        stats = httpx.get(f"{base}/api/v1/stats").json()
    assert stats["street_offices"] == 7
    assert stats["communities"] == 43
    assert 160_000 <= stats["households"] <= 180_000
    assert stats["grids"] >= 300 and 0 < stats["grids_out_of_band"] < stats["grids"]
    assert stats["staff"] > stats["grids"] * 3
    second = setup(empty_url)
    assert second.returncode == 0, second.stderr
    assert "原有数据保留" in second.stderr
    with serving(empty_url) as base:
        assert httpx.get(f"{base}/api/v1/stats").json() == stats
