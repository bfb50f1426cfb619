"""A building imported after the plans were drawn joins the grid it lies in, in the published
plan and the open draft: its households reach that grid's worker, residents find the grid by
its address, the planner's views tally it, and re-balancing counts its households as new."""

from __future__ import annotations

import pandas as pd
import shapely

from tests.planning.conftest import World
from tests.planning.test_import_scope import _geojson, _post

NEW_HOUSEHOLDS = 120

# A spot in the worker's grid of the published plan, clear of every building and within about
# 20 m of another grid (so that the building may be moved there).
SPOT = """
SELECT g.number, g.code, ST_AsText(ST_PointOnSurface(ST_Difference(
         ST_Intersection(g.geom, (SELECT ST_Buffer(ST_Union(o.geom), 0.0002) FROM grid o
                                   WHERE o.plan_id = g.plan_id AND o.id <> g.id)),
         (SELECT ST_Union(ST_Buffer(b.geom, 0.0002)) FROM building b
           WHERE b.community_code = p.community_code))))
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
  JOIN grid_staff s ON s.grid_id = g.id
  JOIN account a ON a.staff_id = s.staff_id AND a.username = 'worker'
 WHERE p.community_code = :home
 ORDER BY g.number LIMIT 1
"""


def _import_new_building(world: World) -> tuple[int, str, dict]:
    """Import one 18-floor building at a spot of the worker's grid; returns (grid number,
    grid code, the import's answer)."""
    number, code, wkt = world.sql(SPOT, home=world.home)[0]
    spot = shapely.from_wkt(wkt)
    footprint = shapely.box(spot.x - 0.00005, spot.y - 0.00005, spot.x + 0.00005, spot.y + 0.00005)
    props = {"路名": "新建路", "门牌号": "8号", "楼栋": "1栋", "层数": 18, "类型": "高层"}
    response = _post(world, "buildings", _geojson([props], [footprint]))
    assert response.status_code == 200, response.text
    return number, code, response.json()


def _import_households(world: World) -> None:
    table = pd.DataFrame(
        {
            "户主姓名": [f"新住户{i}" for i in range(NEW_HOUSEHOLDS)],
            "路名": "新建路",
            "门牌号": "8号",
            "楼栋": "1栋",
            "楼层": [str(1 + i // 8) for i in range(NEW_HOUSEHOLDS)],
            "房号": [f"{1 + i // 8}0{1 + i % 8}" for i in range(NEW_HOUSEHOLDS)],
            "人数": "2",
        }
    )
    body = table.to_csv(index=False).encode()
    response = _post(world, "households", body, name="一张表.csv")
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == NEW_HOUSEHOLDS


def _tally(detail: dict, number: int) -> int:
    return next(g["households"] for g in detail["grids"] if g["number"] == number)


def test_a_new_building_joins_the_grid_it_lies_in(world: World) -> None:
    planner = world.clients["planner"]
    base = f"/api/v1/communities/{world.home}"
    draft = planner.post(f"{base}/drafts")
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["plan"]["id"]

    number, code, answer = _import_new_building(world)
    assert answer["inserted"] == 1
    assert f"1 个新楼栋已按所在位置暂编入网格（第{number}网格 1 栋）" in "".join(answer["notes"])
    [(building,)] = world.sql("SELECT id FROM building WHERE road = '新建路'")
    members = world.sql(
        "SELECT p.status::text, g.number FROM grid_member m JOIN grid g ON g.id = m.grid_id "
        "JOIN grid_plan p ON p.id = m.plan_id WHERE m.building_id = :b ORDER BY 1",
        b=building,
    )
    assert members == [("draft", number), ("published", number)]
    before = planner.get(f"{base}/plans/{draft_id}").json()
    _import_households(world)

    # the grid worker sees the new households, residents find the grid by the address
    records = world.clients["worker"].get(f"{base}/households", params={"building": building})
    assert records.status_code == 200, records.text
    assert len(records.json()) == 50  # the first page of the 120
    found = world.clients["anonymous"].get("/api/v1/lookup", params={"q": "新建路8号"})
    assert found.status_code == 200, found.text
    assert found.json()["grid"]["code"] == code
    assert found.json()["match"]["exact"]

    # the planner's tallies count them; re-balancing moves no one on their account
    detail = planner.get(f"{base}/plans/{draft_id}")
    assert detail.status_code == 200, detail.text
    assert _tally(detail.json(), number) == _tally(before, number) + NEW_HOUSEHOLDS
    revision = detail.json()["plan"]["revision"]
    rebalanced = planner.post(
        f"{base}/plans/{draft_id}/rebalance", json={"revision": revision, "seed": 0}
    )
    assert rebalanced.status_code == 200, rebalanced.text
    [(logged,)] = world.sql(
        "SELECT detail FROM audit_log WHERE action = 'rebalance' AND object_id = :p",
        p=str(draft_id),
    )
    [(new_grid,)] = world.sql(
        "SELECT g.number FROM grid_member m JOIN grid g ON g.id = m.grid_id "
        "WHERE m.plan_id = :p AND m.building_id = :b",
        p=draft_id,
        b=building,
    )
    assert logged["new_households_moved"] == (NEW_HOUSEHOLDS if new_grid != number else 0)
    answer = rebalanced.json()
    assert answer["new_households_moved"] == logged["new_households_moved"]
    assert answer["households_moved"] == logged["households_moved"]


def test_importing_the_building_again_places_it_once(world: World) -> None:
    """Importing again adds no member row twice: the building is matched by its address."""
    _import_new_building(world)
    *_, again = _import_new_building(world)
    assert (again["inserted"], again["updated"]) == (0, 1)
    assert not any("新楼栋" in note for note in again["notes"])
    assert world.sql(
        "SELECT count(*) FROM grid_member m JOIN building b ON b.id = m.building_id "
        "WHERE b.road = '新建路'"
    ) == [(1,)]


def test_the_diff_names_new_households_the_draft_moves_on(world: World) -> None:
    """Moved on from where the import placed them, the new households are counted among those
    changing grid, and named as new: on the API and on the planner's page."""
    planner = world.clients["planner"]
    base = f"/api/v1/communities/{world.home}"
    draft = planner.post(f"{base}/drafts").json()["plan"]
    number, _, _ = _import_new_building(world)
    _import_households(world)
    [(building,)] = world.sql("SELECT id FROM building WHERE road = '新建路'")
    targets = planner.get(f"{base}/plans/{draft['id']}/buildings/{building}/neighbours").json()
    assert targets and number not in targets
    moved = planner.post(
        f"{base}/plans/{draft['id']}/moves",
        json={"revision": draft["revision"], "building_ids": [building], "to_grid": targets[0]},
    )
    assert moved.status_code == 200, moved.text

    diff = planner.get(f"{base}/plans/{draft['id']}/diff").json()
    assert diff["households_changing_worker"] == NEW_HOUSEHOLDS
    assert diff["new_households_changing_grid"] == NEW_HOUSEHOLDS
    page = planner.get(f"/plan/{world.home}", params={"plan": draft["id"]})
    assert page.status_code == 200, page.text
    summary = f"{NEW_HOUSEHOLDS} 户将更换网格员（其中新增住户 {NEW_HOUSEHOLDS} 户，原为暂编）"
    assert summary in page.text
