"""The planners' upload page in Debian's Chromium: a bad layer shows the report (file, row,
column, problem) and imports nothing; a good one is imported."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text

from data.db import make_engine
from tests.conftest import serving
from tests.planning.conftest import PASSWORD, World

pytestmark = pytest.mark.browser


def _count(world: World) -> int:
    engine = make_engine(world.url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM building")).scalar_one()
    engine.dispose()
    return n


def _layer(world: World, path, *, bad: bool) -> None:
    """Two new buildings inside the community; the bad file names ids that do not exist."""
    engine = make_engine(world.url)
    with engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid g "
                "JOIN grid_plan pl ON pl.id = g.plan_id AND pl.status = 'published' "
                "WHERE pl.community_code = :c ORDER BY g.code LIMIT 1) q"
            ),
            {"c": world.home},
        ).one()
    engine.dispose()
    boxes = [shapely.box(x + i * 2e-4, y, x + i * 2e-4 + 1e-4, y + 1e-4) for i in range(2)]
    columns = {
        "路名": ["新路"] * 2,
        "门牌号": ["1号", "2号"],
        "层数": [5, 5],
        "楼栋": ["1栋", "2栋"],
    }
    if bad:
        columns["楼栋编号"] = [900001, 900001]
    gpd.GeoDataFrame(columns, geometry=boxes, crs=4490).to_file(path)


def test_upload_page_reports_problems_then_imports(world: World, chromium, tmp_path) -> None:
    bad, good = tmp_path / "bad.geojson", tmp_path / "good.geojson"
    _layer(world, bad, bad=True)
    _layer(world, good, bad=False)
    before = _count(world)
    with serving(world.url) as base:
        page = chromium.new_page()
        page.goto(f"{base}/plan/{world.home}/import")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/plan/{world.home}/import")
        page.set_input_files("#wg-file", str(bad))
        page.click("#wg-import button[type=submit]")
        page.wait_for_selector("#wg-result table")
        report = page.inner_text("#wg-result")
        assert "未导入" in report and "bad.geojson" in report and "900001" in report
        assert _count(world) == before
        page.set_input_files("#wg-file", str(good))
        page.click("#wg-import button[type=submit]")
        page.wait_for_selector("#wg-result p.ok")
        assert "导入成功" in page.inner_text("#wg-result")
        assert _count(world) == before + 2
        page.close()
