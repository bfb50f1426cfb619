"""The project-local cluster: created, started, reused and stopped for real."""

from __future__ import annotations

from pathlib import Path

import psycopg

from data.store.cluster import LocalCluster


def test_cluster_lifecycle(tmp_path: Path) -> None:
    cluster = LocalCluster(root=tmp_path / "pg", port=54391)
    assert not cluster.is_running()
    cluster.ensure_running()
    try:
        assert cluster.is_running()
        cluster.ensure_running()  # a second start reuses the running server
        url = cluster.url("postgres").replace("+psycopg", "")
        with psycopg.connect(url) as conn:
            conn.execute("CREATE EXTENSION postgis")
            point = conn.execute("SELECT ST_AsText(ST_Point(109.19, 27.72, 4490))").fetchone()
        assert point == ("POINT(109.19 27.72)",)
        listen = (cluster.datadir / "postgresql.conf").read_text()
        assert "listen_addresses = '127.0.0.1'" in listen
    finally:
        assert cluster.stop()
    assert not cluster.is_running()
    assert not cluster.stop()
