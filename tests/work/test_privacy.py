"""Scope and privacy: a worker never sees another grid's requests; the resident's phone and
photos reach the assignee and the community's dispatchers only (every read audited), are
masked elsewhere, never on the tracking page, and are purged after the retention period."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy.orm import Session

from data.db import make_engine
from data.requests.workflow import purge_personal
from tests.work.conftest import Work

PHONE = "13912345678"


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (27.0, 43.0, 12.0)  # GPSLatitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_worker_never_sees_another_grids_request(work: Work) -> None:
    code = work.report(work.in_a, phone=PHONE).json()["code"]
    other = work.clients["worker_b"]
    assert other.get(f"/api/v1/requests/{code}").status_code == 404
    assert other.post(f"/api/v1/requests/{code}/accept").status_code == 404
    assert other.get("/api/v1/requests").json() == []
    assert other.get("/api/v1/requests/export?format=geojson").json()["features"] == []


def test_phone_and_photos_for_the_assignee_and_dispatcher_only(work: Work) -> None:
    photo = _jpeg_with_gps()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the input has GPS
    sent = work.report(
        work.in_a, phone=PHONE, files=[("photos", ("现场.jpg", photo, "image/jpeg"))]
    )
    assert sent.status_code == 201, sent.text
    code = sent.json()["code"]

    for who in ("worker_a", "dispatcher"):
        item = work.clients[who].get(f"/api/v1/requests/{code}").json()
        assert item["phone"] == PHONE and len(item["photos"]) == 1
        stored = work.clients[who].get(f"/api/v1/requests/{code}/photos/{item['photos'][0]}")
        assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
        kept = Image.open(io.BytesIO(stored.content))
        assert kept.size == (64, 48)
        assert not kept.getexif() and "exif" not in kept.info and "icc_profile" not in kept.info
    photo_id = item["photos"][0]
    for who in ("street", "admin"):
        item = work.clients[who].get(f"/api/v1/requests/{code}").json()
        assert item["phone"] == "139****5678" and item["photos"] == []
        assert (
            work.clients[who].get(f"/api/v1/requests/{code}/photos/{photo_id}").status_code == 404
        )
    assert work.clients["anonymous"].get(f"/api/v1/requests/{code}").status_code == 401
    track = work.clients["anonymous"].get(f"/api/v1/requests/track/{code}")
    assert PHONE not in track.text and "139" not in track.text
    page = work.clients["anonymous"].get(f"/r/{code}")
    assert page.status_code == 200 and PHONE not in page.text

    reads = work.sql(
        "SELECT actor, action FROM audit_log WHERE action LIKE 'request_%' ORDER BY id"
    )
    assert ("account:worker_a", "request_personal_read") in reads
    assert ("account:dispatcher", "request_photo_read") in reads
    assert not any(actor in ("account:street", "account:admin") for actor, _ in reads)


def test_exports_leave_out_personal_fields_unless_the_dispatcher_asks(work: Work) -> None:
    code = work.report(work.in_a, phone=PHONE, text="我家 3 楼漏水").json()["code"]
    public = work.clients["street"].get("/api/v1/requests/export?format=csv&personal=true")
    assert public.status_code == 200 and code in public.text
    assert PHONE not in public.text and "漏水" not in public.text
    assert "EPSG-4490" in public.headers["content-disposition"]
    full = work.clients["dispatcher"].get("/api/v1/requests/export?format=geojson&personal=true")
    feature = full.json()["features"][0]
    assert feature["properties"]["phone"] == PHONE
    assert (
        feature["geometry"]["coordinates"]
        == [
            round(work.in_a[0], 6),
            round(work.in_a[1], 6),
        ]
        or abs(feature["geometry"]["coordinates"][0] - work.in_a[0]) < 1e-6
    )
    assert work.sql("SELECT count(*) FROM audit_log WHERE action = 'request_export_personal'") == [
        (1,)
    ]


def test_personal_fields_are_purged_after_the_retention(work: Work) -> None:
    code = work.report(
        work.in_a,
        phone=PHONE,
        files=[("photos", ("a.jpg", _jpeg_with_gps(), "image/jpeg"))],
    ).json()["code"]
    worker = work.clients["worker_a"]
    worker.post(f"/api/v1/requests/{code}/accept")
    worker.post(f"/api/v1/requests/{code}/close", data={"result": "已处理"})
    engine = make_engine(work.url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        assert purge_personal(session, now + timedelta(days=1094), 1095) == 0
        assert purge_personal(session, now + timedelta(days=1096), 1095) == 1
    engine.dispose()
    assert work.sql("SELECT phone, purged_at IS NOT NULL FROM service_request") == [(None, True)]
    assert work.sql("SELECT count(*) FROM request_photo") == [(0,)]
    assert work.clients["anonymous"].get(f"/api/v1/requests/track/{code}").status_code == 200
