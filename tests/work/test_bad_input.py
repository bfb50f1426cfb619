"""Bad reports get a clear Chinese message and write nothing; a script in the text is stored
and shown as text; tracking codes are unguessable and a wrong one is 404; floods are held
back by the human check and the rate limit."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from tests.work.conftest import Work, make_work, quiet_settings

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _count(work: Work) -> int:
    return work.sql("SELECT count(*) FROM service_request")[0][0]


def _png(size: tuple[int, int] = (20, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


def test_bad_reports_are_refused_and_nothing_is_written(work: Work) -> None:
    cases = [
        ({"text": "   "}, None, "请填写诉求内容"),
        ({"category": "闲聊"}, None, "请选择诉求类别"),
        ({"phone": "call me"}, None, "回访电话"),
        ({}, [("photos", ("报告.txt", b"not an image at all", "text/plain"))], "不是 JPEG 或 PNG"),
        (
            {},
            [("photos", ("大图.jpg", b"\xff\xd8" + b"0" * (5 * 2**20), "image/jpeg"))],
            "超过 5 MB",
        ),
        ({}, [("photos", (f"{i}.png", _png(), "image/png")) for i in range(4)], "最多上传 3 张"),
        ({}, [("photos", ("断.png", _png((400, 400))[:80], "image/png"))], "无法识别"),
    ]
    for fields, files, message in cases:
        response = work.report(work.in_a, files=files, **fields)
        assert response.status_code == 400, (fields, response.text)
        assert message in response.json()["detail"]
    no_place = work.report(None)
    assert no_place.status_code == 400 and "位置" in no_place.json()["detail"]
    swapped = work.report((work.in_a[1], work.in_a[0]))
    assert swapped.status_code == 400
    assert _count(work) == 0


def test_a_wrong_or_forged_human_check_is_refused(work: Work) -> None:
    client = work.clients["anonymous"]
    check = client.get("/api/v1/requests/check").json()
    base = {
        "category": "其他",
        "text": "路灯不亮",
        "lon": str(work.in_a[0]),
        "lat": str(work.in_a[1]),
    }
    wrong = client.post(
        "/api/v1/requests", data=base | {"check_token": check["token"], "check_answer": "99"}
    )
    assert wrong.status_code == 400 and "答案不正确" in wrong.json()["detail"]
    forged = client.post(
        "/api/v1/requests", data=base | {"check_token": "9999999999.00.ff", "check_answer": "2"}
    )
    assert forged.status_code == 400
    assert _count(work) == 0


def test_a_script_in_the_text_is_stored_and_shown_as_text(work: Work) -> None:
    code = work.report(work.in_a, text=SCRIPT).json()["code"]
    assert work.sql("SELECT body FROM service_request") == [(SCRIPT,)]
    page = work.clients["anonymous"].get(f"/r/{code}").text
    assert SCRIPT not in page and "&lt;script&gt;alert(" in page
    staff_page = work.clients["worker_a"].get(f"/work/r/{code}").text
    assert SCRIPT not in staff_page and "&lt;img src=x onerror=alert(1)&gt;" in staff_page


def test_random_tracking_codes_are_404(work: Work) -> None:
    work.report(work.in_a)
    client = work.clients["anonymous"]
    for code in ("AAAAAAAAAAAAAAAA", "abc", "0" * 16, "%3Cscript%3E"):
        assert client.get(f"/api/v1/requests/track/{code}").status_code in (404, 422)
        page = client.get(f"/r/{code}")
        assert page.status_code == 404 and "没有找到这条诉求" in page.text
    assert (
        client.post(
            "/api/v1/requests/track/AAAAAAAAAAAAAAAA/rating", json={"rating": "satisfied"}
        ).status_code
        == 404
    )


def test_submissions_are_rate_limited_per_client(isolated_url: str) -> None:
    work = make_work(isolated_url, quiet_settings(report_rate_per_minute=2, report_burst=2))
    with TestClient(work.app) as client:
        work.clients["anonymous"] = client
        statuses = [work.report(work.in_a).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
