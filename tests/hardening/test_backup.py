"""``wangge backup`` / ``wangge restore``: a backup of the fixture restored into a fresh database
holds every row of every table (counts and a checksum of each table's rows); a non-empty target
is refused unless ``--force``; a missing file or an unreachable database is one line, exit 2."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.cli import main
from data.access.accounts import create_account
from data.db import drop_database, make_engine
from data.models import AccountRole
from data.plans.versions import start_draft
from data.settings import libpq_url
from data.store.backup import user_tables

MUST_HOLD = ("public.grid", "public.building", "public.household", "public.grid_plan")


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Per table: its row count and an md5 over its rows in a fixed order."""
    with psycopg.connect(libpq_url(url)) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM {table} t"
            ).fetchone()
            for table in user_tables(conn)
        }


def _wangge(capsys, *args: str) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def restored_url(isolated_url: str, admin_url: str) -> Iterator[str]:
    """A database name on the same server that does not exist yet (restore creates it)."""
    name = make_url(isolated_url).database + "_restored"
    drop_database(admin_url, name)
    yield make_url(isolated_url).set(database=name).render_as_string(hide_password=False)
    drop_database(admin_url, name)


def test_backup_restores_every_row_into_a_fresh_database(
    isolated_url, restored_url, tmp_path, monkeypatch, capsys
):
    # Beyond the fixture: a second plan version (a draft), an account, audit rows.
    engine = make_engine(isolated_url, poolclass=NullPool)
    with Session(engine) as session, session.begin():
        community = session.execute(text("SELECT code FROM community LIMIT 1")).scalar_one()
        create_account(session, "backup_planner", "correct horse battery", AccountRole.admin)
        start_draft(session, community, "backup_planner")
    engine.dispose()
    before = _fingerprint(isolated_url)
    for table in (*MUST_HOLD, "public.audit_log"):
        assert before[table][0] > 0, table
    assert before["public.grid_plan"][0] >= 2

    archive = tmp_path / "wangge.dump"
    monkeypatch.setenv("DATABASE_URL", libpq_url(isolated_url))
    code, err = _wangge(capsys, "backup", str(archive))
    assert code == 0, err
    assert archive.read_bytes()[:5] == b"PGDMP"
    assert any("已备份" in line for line in err)

    monkeypatch.setenv("DATABASE_URL", libpq_url(restored_url))
    code, err = _wangge(capsys, "restore", str(archive))
    assert code == 0, err
    assert _fingerprint(restored_url) == before

    # Restoring over data is refused, one line, exit 2; --force replaces it.
    code, err = _wangge(capsys, "restore", str(archive))
    assert code == 2 and len(err) == 1 and "不是空库" in err[0] and "--force" in err[0]
    code, err = _wangge(capsys, "restore", str(archive), "--force")
    assert code == 0, err
    assert _fingerprint(restored_url) == before

    # The restored database serves, and its sequences continue past the restored ids.
    with TestClient(create_app(database_url=restored_url)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        stats = client.get("/api/v1/stats").json()
    assert stats["households"] == before["public.household"][0]
    with psycopg.connect(libpq_url(restored_url)) as conn:
        new_id, old_max = conn.execute(
            "INSERT INTO audit_log (actor, action, object_type, object_id) "
            "VALUES ('t', 'check', 'none', '0') RETURNING id, (SELECT max(id) FROM audit_log)"
        ).fetchone()
        assert new_id > old_max


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_backup_and_restore_refuse_in_one_line(tmp_path, monkeypatch, capsys, database_url):
    monkeypatch.setenv("DATABASE_URL", libpq_url(database_url))
    code, err = _wangge(capsys, "restore", str(tmp_path / "missing.dump"))
    assert code == 2 and err == [f"wangge: {tmp_path / 'missing.dump'}：文件不存在"]
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    code, err = _wangge(capsys, "restore", str(not_a_dump))
    assert code == 2 and len(err) == 1 and "不是 `wangge backup` 写出的备份文件" in err[0]
    code, err = _wangge(capsys, "backup", str(tmp_path / "no" / "such" / "folder.dump"))
    assert code == 2 and len(err) == 1 and "文件夹不存在" in err[0]

    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(b"PGDMP" + b"\0" * 100)
    code, err = _wangge(capsys, "restore", str(truncated))
    assert code == 2 and len(err) == 1 and "已损坏" in err[0], err
    archive = tmp_path / "good.dump"
    assert _wangge(capsys, "backup", str(archive))[0] == 0

    nowhere = f"postgresql://postgres@127.0.0.1:{_free_port()}/wangge"
    monkeypatch.setenv("DATABASE_URL", nowhere)
    code, err = _wangge(capsys, "backup", str(tmp_path / "x.dump"))
    assert code == 1 and len(err) == 1 and "连不上数据库" in err[0], err
    assert not (tmp_path / "x.dump").exists()
    code, err = _wangge(capsys, "restore", str(archive))
    assert code == 1 and len(err) == 1 and "连不上数据库" in err[0], err
