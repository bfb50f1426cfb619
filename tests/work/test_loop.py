"""The work loop through the API: report → routed to the right grid worker → accept → note →
close → the resident reads the result and rates it; 不满意 reopens it to the community."""

from __future__ import annotations

from tests.work.conftest import Work


def test_report_reaches_the_grid_worker_who_closes_it(work: Work) -> None:
    response = work.report(work.in_a, phone="13800001234")
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["grid_code"] == work.a and sent["state"] == "dispatched"
    code = sent["code"]
    assert len(code) == 16

    worker = work.clients["worker_a"]
    inbox = worker.get("/api/v1/requests").json()
    assert [r["code"] for r in inbox] == [code]
    assert work.clients["worker_b"].get("/api/v1/requests").json() == []

    assert worker.post(f"/api/v1/requests/{code}/accept").status_code == 200
    noted = worker.post(f"/api/v1/requests/{code}/note", data={"text": "已联系物业"})
    assert noted.status_code == 200, noted.text
    assert noted.json()["state"] == "in_progress"
    closed = worker.post(f"/api/v1/requests/{code}/close", data={"result": "垃圾已清运"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"

    track = work.clients["anonymous"].get(f"/api/v1/requests/track/{code}").json()
    assert track["state_label"] == "已办结" and track["result"] == "垃圾已清运"
    assert [s["action"] for s in track["steps"]] == ["提交诉求", "派单", "接单", "办理进展", "办结"]
    assert "phone" not in track and "13800001234" not in str(track)

    rated = work.clients["anonymous"].post(
        f"/api/v1/requests/track/{code}/rating", json={"rating": "unsatisfied"}
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["state"] == "pending"
    assert rated.json()["steps"][-1]["action"] == "重新办理"
    again = work.clients["anonymous"].post(
        f"/api/v1/requests/track/{code}/rating", json={"rating": "satisfied"}
    )
    assert again.status_code == 409
    # Reopened to the community: the dispatcher has it, the worker no longer does.
    assert code in [r["code"] for r in work.clients["dispatcher"].get("/api/v1/requests").json()]
    assert worker.get("/api/v1/requests").json() == []


def test_a_satisfied_rating_ends_the_request(work: Work) -> None:
    code = work.report(work.in_b).json()["code"]
    worker = work.clients["worker_b"]
    worker.post(f"/api/v1/requests/{code}/accept")
    worker.post(f"/api/v1/requests/{code}/close", data={"result": "已修好"})
    rated = work.clients["anonymous"].post(
        f"/api/v1/requests/track/{code}/rating", json={"rating": "satisfied"}
    )
    assert rated.json()["state"] == "rated" and rated.json()["rating"] == "满意"


def test_state_changes_out_of_order_are_409_with_the_state(work: Work) -> None:
    code = work.report(work.in_a).json()["code"]
    worker = work.clients["worker_a"]
    premature = worker.post(f"/api/v1/requests/{code}/close", data={"result": "完成"})
    assert premature.status_code == 409
    assert premature.json()["state"] == "dispatched"
    assert "已派单" in premature.json()["detail"]
    assert worker.post(f"/api/v1/requests/{code}/accept").status_code == 200
    twice = worker.post(f"/api/v1/requests/{code}/accept")
    assert twice.status_code == 409 and twice.json()["state"] == "accepted"
    rate_open = work.clients["anonymous"].post(
        f"/api/v1/requests/track/{code}/rating", json={"rating": "satisfied"}
    )
    assert rate_open.status_code == 409
    events = work.sql(
        "SELECT action FROM request_event e JOIN service_request r ON r.id = e.request_id "
        "WHERE r.code = :c ORDER BY e.id",
        c=code,
    )
    assert [e[0] for e in events] == ["submit", "dispatch", "accept"]


def test_return_and_dispatch_need_a_reason(work: Work) -> None:
    code = work.report(work.in_a).json()["code"]
    worker, dispatcher = work.clients["worker_a"], work.clients["dispatcher"]
    assert worker.post(f"/api/v1/requests/{code}/return", json={"reason": " "}).status_code == 400
    back = worker.post(f"/api/v1/requests/{code}/return", json={"reason": "不属于本网格"})
    assert back.status_code == 200 and back.json()["state"] == "pending"
    sent = dispatcher.post(
        f"/api/v1/requests/{code}/dispatch", json={"kind": "grid", "value": work.b}
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["grid_code"] == work.b
    assert [r["code"] for r in work.clients["worker_b"].get("/api/v1/requests").json()] == [code]
    no_reason = dispatcher.post(
        f"/api/v1/requests/{code}/dispatch", json={"kind": "department", "value": "城管"}
    )
    assert no_reason.status_code == 400 and "原因" in no_reason.json()["detail"]
    moved = dispatcher.post(
        f"/api/v1/requests/{code}/dispatch",
        json={"kind": "department", "value": "城管", "reason": "占道经营归城管"},
    )
    assert moved.status_code == 200 and moved.json()["assignee"] == "城管"
    unknown = dispatcher.post(
        f"/api/v1/requests/{code}/dispatch",
        json={"kind": "department", "value": "外星办", "reason": "x"},
    )
    assert unknown.status_code == 400
    # The department has no account: the dispatcher records its work.
    assert dispatcher.post(f"/api/v1/requests/{code}/accept").status_code == 200
    done = dispatcher.post(f"/api/v1/requests/{code}/close", data={"result": "城管已处理"})
    assert done.json()["state"] == "closed"


def test_dispatch_to_a_party_member_volunteer(work: Work) -> None:
    code = work.report(work.in_a).json()["code"]
    volunteer = work.sql(
        "SELECT id FROM staff WHERE party_member AND community_code = :c ORDER BY id LIMIT 1",
        c=work.community,
    )[0][0]
    sent = work.clients["dispatcher"].post(
        f"/api/v1/requests/{code}/dispatch",
        json={"kind": "volunteer", "value": str(volunteer), "reason": "党员就近帮扶"},
    )
    assert sent.status_code == 200, sent.text
    assert work.sql("SELECT assignee_staff_id FROM service_request WHERE code = :c", c=code) == [
        (volunteer,)
    ]
