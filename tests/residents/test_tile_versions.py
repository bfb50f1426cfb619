"""Tiles of a plan version never change: the map pages name the version in their tile URL
(one overlay tile of streets, communities and grids), which is cached (``immutable``, ``ETag``,
in the server's memory), and an old version's URL keeps giving the old tile after a new plan is
published."""

from __future__ import annotations

import re

import mapbox_vector_tile
from fastapi.testclient import TestClient

from api.app import create_app
from data.settings import Settings
from tests.conftest import grid_one, publish_renamed
from tests.residents.test_maps import _tile

Z = 15


def _client(url: str) -> TestClient:
    return TestClient(create_app(Settings(lookup_rate_per_minute=0), database_url=url))


def _version(http: TestClient) -> int:
    page = http.get("/map").text
    versions = set(re.findall(r"/tiles/v/(\d+)/overlay/", page))
    assert len(versions) == 1, versions
    return int(versions.pop())


def _names(body: bytes) -> set[str]:
    return {f["properties"]["name"] for f in mapbox_vector_tile.decode(body)["grids"]["features"]}


def test_an_old_versions_tile_url_keeps_the_old_tile(isolated_url):
    community, point = grid_one(isolated_url)
    x, y = _tile(*point, Z)
    with _client(isolated_url) as http:
        old = _version(http)
        url = f"/tiles/v/{old}/overlay/{Z}/{x}/{y}.pbf"
        first = http.get(url)
        assert first.status_code == 200
        assert "immutable" in first.headers["cache-control"]
        etag = first.headers["etag"]
        assert http.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert http.get(url).content == first.content  # from the server's cache
        assert "新名网格" not in _names(first.content)

        publish_renamed(isolated_url, community, "新名网格")
        new = _version(http)
        assert new > old
        assert "新名网格" in _names(http.get(f"/tiles/v/{new}/overlay/{Z}/{x}/{y}.pbf").content)
        assert "新名网格" in _names(http.get(f"/tiles/grids/{Z}/{x}/{y}.pbf").content)
        assert http.get(url).content == first.content
        assert http.get(f"/tiles/v/{new + 1}/overlay/{Z}/{x}/{y}.pbf").status_code == 404
        # Only the overlay is versioned: the pages draw nothing else from /tiles/v/.
        assert http.get(f"/tiles/v/{new}/grids/{Z}/{x}/{y}.pbf").status_code == 422

    # A new process (empty cache) renders the old version from the archived plan.
    with _client(isolated_url) as http:
        again = http.get(url)
        assert again.status_code == 200
        assert _names(again.content) == _names(first.content)
        assert again.headers["etag"] == etag
