"""Hostile uploads against a real uvicorn: a zip bomb, a 500 MB file, a shapefile with 10 million
vertices and a GeoJSON nested 10,000 levels deep are each refused with a clear 4xx, and the
server's resident memory stays bounded (issue 7, item 1). The files are made here, sparse or
streamed, never committed."""

from __future__ import annotations

import struct
import threading
import time
import zipfile
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import serving
from tests.planning.conftest import PASSWORD

LIMITS = {
    "WANGGE_MAX_UPLOAD_BYTES": str(50 * 2**20),
    "WANGGE_MAX_UNCOMPRESSED_BYTES": str(100 * 2**20),
    "WANGGE_MAX_VERTICES": "1000000",
    "WANGGE_MAX_JSON_DEPTH": "64",
}
RSS_BUDGET = 150 * 2**20  # growth of the server's resident memory over one upload


@pytest.fixture(scope="module")
def server(database_url: str):
    """uvicorn on the shared fixture database, with an admin account (nothing is committed by
    these uploads: each is refused before it writes)."""
    from sqlalchemy.orm import Session

    from data.access.accounts import create_account
    from data.db import make_engine
    from data.models import Account, AccountRole

    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        if not session.query(Account).filter_by(username="upload-admin").first():
            create_account(session, "upload-admin", PASSWORD, AccountRole.admin)
    engine.dispose()
    with serving(database_url, **LIMITS) as base:
        token = httpx.post(
            base + "/api/v1/auth/token",
            json={"username": "upload-admin", "password": PASSWORD},
            timeout=30,
        ).json()["token"]
        pid = next(
            c.pid
            for c in psutil.Process().children(recursive=True)
            # `wangge serve` (python -m api.cli serve) runs uvicorn in its own process
            if "serve" in c.cmdline() and base.rsplit(":", 1)[1] in c.cmdline()
        )
        yield base, {"Authorization": f"Bearer {token}"}, psutil.Process(pid)


class PeakRSS:
    """The peak resident memory of a process, sampled every 20 ms while the block runs."""

    def __init__(self, process: psutil.Process) -> None:
        self.process, self.peak, self._stop = process, 0, threading.Event()

    def __enter__(self) -> PeakRSS:
        self.before = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.growth = max(0, self.peak - self.before)
        print(f"peak RSS {self.peak / 2**20:.0f} MiB (+{self.growth / 2**20:.0f} MiB)")


def _upload(server, path: Path, kind: str = "buildings", stream: bool = False):
    base, headers, process = server
    with PeakRSS(process) as rss, path.open("rb") as fh:
        response = httpx.post(
            f"{base}/api/v1/import/{kind}",
            headers=headers,
            files={"file": (path.name, fh, "application/octet-stream")},
            data={"crs": "4490"},
            timeout=60,
        )
    assert rss.growth < RSS_BUDGET
    return response


def test_a_zip_bomb_is_refused_before_it_is_unpacked(server, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("buildings.geojson", "w", force_zip64=True) as member,
    ):
        block = b"\0" * 2**20
        for _ in range(1024):  # 1 GiB of zeros, a few MB compressed
            member.write(block)
    assert bomb.stat().st_size < 5 * 2**20
    response = _upload(server, bomb)
    assert response.status_code == 422
    assert "解压后 1024 MiB" in response.json()["detail"]


def test_a_zip_bomb_within_the_size_limit_is_refused_by_its_ratio(server, tmp_path):
    bomb = tmp_path / "dense.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("buildings.geojson", b" " * (64 * 2**20))
    response = _upload(server, bomb)
    assert response.status_code == 422
    assert "疑似压缩炸弹" in response.json()["detail"]


def test_a_500_mb_file_is_refused_without_reading_it_all(server, tmp_path):
    big = tmp_path / "big.geojson"
    with big.open("wb") as fh:  # sparse: 500 MB that take no disk
        fh.truncate(500 * 10**6)
    response = _upload(server, big)
    assert response.status_code == 413
    assert "最大 50 MiB" in response.json()["detail"]


def test_a_500_mb_chunked_upload_without_a_length_is_cut_off(server):
    base, headers, process = server

    def body():
        boundary = b"--wg\r\n"
        yield (
            boundary + b'Content-Disposition: form-data; name="file"; filename="b.geojson"\r\n\r\n'
        )
        block = b"\0" * 2**20
        for _ in range(500):
            yield block
        yield b"\r\n--wg--\r\n"

    with PeakRSS(process) as rss:
        response = httpx.post(
            f"{base}/api/v1/import/buildings",
            headers={**headers, "Content-Type": "multipart/form-data; boundary=wg"},
            content=body(),
            timeout=60,
        )
    assert response.status_code == 413
    assert rss.growth < RSS_BUDGET


def _sparse_shapefile(folder: Path, vertices: int) -> Path:
    """One polygon record declaring ``vertices`` points, as a sparse .shp with .shx and .dbf."""
    content = 4 + 32 + 4 + 4 + 4 + 16 * vertices
    shp = folder / "huge.shp"
    header = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, (100 + 8 + content) // 2)
    header += struct.pack("<2i4d4d", 1000, 5, 0, 0, 1, 1, 0, 0, 0, 0)
    with shp.open("wb") as fh:
        fh.write(header)
        fh.write(struct.pack(">2i", 1, content // 2))
        fh.write(struct.pack("<i4d2i", 5, 0, 0, 1, 1, 1, vertices))
        fh.write(struct.pack("<i", 0))
        fh.truncate(100 + 8 + content)
    shx = folder / "huge.shx"
    shx.write_bytes(
        struct.pack(">7i", 9994, 0, 0, 0, 0, 0, 54)
        + struct.pack("<2i4d4d", 1000, 5, 0, 0, 1, 1, 0, 0, 0, 0)
        + struct.pack(">2i", 50, content // 2)
    )
    (folder / "huge.dbf").write_bytes(
        struct.pack("<4BIHH20x", 3, 126, 1, 1, 1, 65, 2)
        + b"ID".ljust(11, b"\0")
        + b"N"
        + b"\0" * 4
        + bytes([1, 0])
        + b"\0" * 14
        + b"\r"
        + b" 1"
        + b"\x1a"
    )
    (folder / "huge.prj").write_text('GEOGCS["China Geodetic Coordinate System 2000"]')
    return shp


def test_a_shapefile_with_10_million_vertices_is_refused_before_it_is_read(tmp_path):
    """Zipped, such a sparse file is already refused by its ratio; here the vertex count of the
    bare layer files is what refuses it, in read_vector (the upload's reader), from the record
    headers alone."""
    from data.imports import ImportRejected, InputLimits, read_vector

    shp = _sparse_shapefile(tmp_path, 10_000_000)
    assert shp.stat().st_size > 160 * 10**6
    me = psutil.Process()
    with PeakRSS(me) as rss, pytest.raises(ImportRejected) as refused:
        read_vector(shp, shp.name, "4490", InputLimits(max_vertices=1_000_000))
    assert "共 10000000 个顶点（最多 1000000 个）" in str(refused.value)
    assert rss.growth < RSS_BUDGET


def test_geojson_nested_10000_levels_is_refused_before_it_is_parsed(server, tmp_path):
    deep = tmp_path / "deep.geojson"
    deep.write_bytes(
        b'{"type": "FeatureCollection", "features": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    )
    response = _upload(server, deep)
    assert response.status_code == 422
    assert "JSON 嵌套超过 64 层" in response.json()["detail"]


def test_a_json_body_nested_10000_levels_is_refused(server):
    base = server[0]
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        content=b'{"username": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422
    assert "嵌套超过" in response.json()["detail"]
