"""Routing on arrival (信息中心一键派单): the grid holding the point and its full-time worker;
on a border the lower grid code; outside every grid or in a grid with no full-time worker the
community's dispatcher; far from every community (the sea) refused with nothing written."""

from __future__ import annotations

from tests.work.conftest import Work


def _routed(work: Work, point) -> dict:
    response = work.report(point)
    assert response.status_code == 201, response.text
    return response.json()


def test_points_inside_grids_go_to_their_workers(work: Work) -> None:
    assert _routed(work, work.in_a)["grid_code"] == work.a
    assert _routed(work, work.in_b)["grid_code"] == work.b
    assert _routed(work, work.in_a)["assignee"] is not None


def test_a_point_on_the_border_goes_to_one_grid_and_a_step_off_it_to_the_other(
    work: Work,
) -> None:
    on_border = _routed(work, work.border)
    assert on_border["grid_code"] == work.a  # the lower code of the two that cover it
    # 2 m towards B's inside point from the border is B's.
    (bx, by), (ex, ey) = work.in_b, work.border
    scale = 2e-5 / max(abs(bx - ex), abs(by - ey))
    near_b = (ex + (bx - ex) * scale, ey + (by - ey) * scale)
    assert _routed(work, near_b)["grid_code"] == work.b


def test_a_point_outside_every_grid_goes_to_the_community_dispatcher(work: Work) -> None:
    sent = _routed(work, work.outside)
    assert sent["grid_code"] is None and sent["state"] == "pending"
    queue = work.clients["dispatcher"].get("/api/v1/requests").json()
    assert [r["code"] for r in queue] == [sent["code"]]
    assert work.clients["worker_a"].get("/api/v1/requests").json() == []


def test_a_grid_without_a_full_time_worker_waits_for_the_dispatcher(work: Work) -> None:
    if work.unstaffed is None:
        return
    point = work.sql(
        "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) FROM grid g "
        "JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published' WHERE g.code = :c",
        c=work.unstaffed,
    )[0]
    sent = _routed(work, point)
    assert sent["grid_code"] == work.unstaffed and sent["state"] == "pending"


def test_gcj02_input_is_converted_before_routing(work: Work) -> None:
    from geo.offsets import Datum, convert

    gx, gy = convert(work.in_a[0], work.in_a[1], Datum.wgs84, Datum.gcj02)
    sent = work.report(None, lon=str(float(gx)), lat=str(float(gy)), coordsys="gcj02").json()
    assert sent["grid_code"] == work.a


def test_a_point_in_the_sea_is_refused_and_nothing_is_written(work: Work) -> None:
    response = work.report((122.5, 29.5))  # the East China Sea
    assert response.status_code == 400
    assert "水面或区外" in response.json()["detail"]
    assert work.sql("SELECT count(*) FROM service_request") == [(0,)]
    assert work.sql("SELECT count(*) FROM request_event") == [(0,)]


def test_a_report_by_address_lands_on_its_building(work: Work) -> None:
    road, door, grid = work.sql(
        "SELECT b.road, b.door_number, g.code FROM building b "
        "JOIN grid_member m ON m.building_id = b.id AND m.unit_id IS NULL "
        "JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published' "
        "JOIN grid g ON g.id = m.grid_id "
        "WHERE b.door_number ~ '^[0-9]+号$' AND (SELECT count(*) FROM building b2 "
        "WHERE b2.road = b.road AND b2.door_number = b.door_number) = 1 ORDER BY b.id LIMIT 1"
    )[0]
    sent = work.report(None, address=f"{road}{door}")
    assert sent.status_code == 201, sent.text
    assert sent.json()["grid_code"] == grid
