"""Household records: masked by default, full only with a reason, only for the community's
planners and the household's grid worker, every read audited."""

from __future__ import annotations

import re

from data.access.households import mask_id, mask_name, mask_phone
from tests.planning.conftest import World


def test_masks() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_phone("13912345678") == "139****5678"
    assert mask_id("520602199001011234") == "520602********1234"


def test_planner_reads_masked_records_and_the_read_is_audited(world: World) -> None:
    url = f"/api/v1/communities/{world.home}/households"
    response = world.clients["planner"].get(url, params={"limit": 20})
    assert response.status_code == 200, response.text
    records = response.json()
    assert len(records) == 20
    for r in records:
        assert r["head_name"].endswith("*")
        assert re.fullmatch(r"1\d\d\*{4}\d{4}", r["head_phone"])
        assert "elderly_alone" not in r and "disabled" not in r
    audit = world.sql(
        "SELECT actor, action, reason, detail FROM audit_log WHERE action LIKE 'household_read%'",
    )
    assert len(audit) == 1
    actor, action, reason, detail = audit[0]
    assert (actor, action, reason) == ("planner", "household_read", None)
    assert detail["households"] == [r["id"] for r in records]


def test_a_reason_reveals_the_record_and_its_care_tags(world: World) -> None:
    (household, name, phone) = world.sql(
        "SELECT h.id, h.head_name, h.head_phone FROM household h "
        "JOIN protected.household_care k ON k.household_id = h.id "
        "JOIN building b ON b.id = h.building_id WHERE b.community_code = :c ORDER BY h.id LIMIT 1",
        c=world.home,
    )[0]
    url = f"/api/v1/communities/{world.home}/households/{household}"
    masked = world.clients["planner"].get(url).json()
    assert masked["head_name"] != name and "low_income" not in masked
    full = world.clients["planner"].get(url, params={"reason": "低保复核入户"}).json()
    assert (full["head_name"], full["head_phone"]) == (name, phone)
    assert {"elderly_alone", "low_income", "disabled", "left_behind_child"} <= set(full)
    audit = world.sql(
        "SELECT reason, object_id FROM audit_log WHERE action = 'household_read_unmasked'",
    )
    assert audit == [("低保复核入户", str(household))]


def test_a_grid_worker_reads_only_their_grids(world: World) -> None:
    mine = {
        code
        for (code,) in world.sql(
            "SELECT g.code FROM grid g JOIN grid_plan p ON p.id = g.plan_id "
            "AND p.status = 'published' JOIN grid_staff s ON s.grid_id = g.id "
            "JOIN account a ON a.staff_id = s.staff_id WHERE a.username = 'worker'",
        )
    }
    url = f"/api/v1/communities/{world.home}/households"
    records = world.clients["worker"].get(url, params={"limit": 200}).json()
    assert records and {r["grid"] for r in records} <= mine
    other = world.sql(
        "SELECT g.code FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = "
        "'published' WHERE p.community_code = :c AND g.code <> ALL(:mine) LIMIT 1",
        c=world.home,
        mine=sorted(mine),
    )[0][0]
    assert world.clients["worker"].get(url, params={"grid": other}).json() == []


def test_other_roles_and_scopes_are_refused(world: World) -> None:
    url = f"/api/v1/communities/{world.home}/households"
    assert world.clients["admin"].get(url).status_code == 403
    assert world.clients["street"].get(url).status_code == 403
    assert world.clients["anonymous"].get(url).status_code == 401
    other = f"/api/v1/communities/{world.other}/households"
    assert world.clients["planner"].get(other).status_code == 404
    assert world.clients["worker"].get(other).status_code == 404
