"""No public route returns household data: crawl every GET route in the OpenAPI document."""

from __future__ import annotations

import math
import re

import psycopg

from data.settings import libpq_url


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return int((lon + 180) / 360 * n), y


def _urls(openapi: dict, facts) -> list[str]:
    lon, lat = facts.inside
    x, y = _tile(lon, lat, 15)
    values = {"code": facts.grid_code, "layer": "overlay", "z": "15", "x": str(x), "y": str(y)}
    urls = []
    for path, ops in openapi["paths"].items():
        if "get" not in ops:
            continue
        names = re.findall(r"{(\w+)}", path)
        url = path
        for name in names:
            url = url.replace(f"{{{name}}}", values.get(name, "grids"))
        if path.endswith("/lookup"):
            urls += [
                f"{url}?lon={lon}&lat={lat}&geometry=true",
                f"{url}?q={facts.road}{facts.door_number}",
                f"{url}?q={facts.compound}{facts.building_name}",
            ]
        else:
            urls.append(url)
    for layer in ("grids", "communities", "streets"):
        urls.append(f"/tiles/{layer}/15/{x}/{y}.pbf")
    return urls


def test_no_public_route_returns_household_data(open_client, facts, database_url):
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute("SELECT head_name, head_phone, id_number FROM household").fetchall()
        staff_phones = {r[0] for r in conn.execute("SELECT work_phone FROM staff")}
    assert rows, "the fixture has households to look for"
    # A household head who shares a name with a staff member is not a leak of that name.
    names = {r[0] for r in rows if r[0] and len(r[0]) >= 2} - facts.staff_names
    # A liaison leader lives among the households they look after: their public work phone may
    # be their household's phone too, and showing it as staff is not a leak.
    numbers = ({r[1] for r in rows if r[1]} - staff_phones) | {r[2] for r in rows if r[2]}
    # Whole names and whole numbers only: staff member 杨娜静 does not leak household head 杨娜.
    cjk = "\u4e00-\u9fff"
    pattern = re.compile(
        "|".join(
            [f"(?<![{cjk}]){re.escape(n)}(?![{cjk}])" for n in sorted(names)]
            + [f"(?<![0-9]){re.escape(n)}(?![0-9X])" for n in sorted(numbers)]
        )
    )

    urls = _urls(open_client.get("/openapi.json").json(), facts)
    assert any("/lookup" in u for u in urls) and any("/signboard" in u for u in urls)
    checked = 0
    for url in urls:
        if url.endswith(".pdf"):  # printed from the signboard HTML, which is crawled
            continue
        r = open_client.get(url)
        body = r.content.decode("utf-8", errors="ignore")
        leak = pattern.search(body)
        assert leak is None, f"{url} ({r.status_code}) shows household data {leak.group()!r}"
        checked += r.status_code == 200
    assert checked >= 8
