"""Stored XSS and template injection (issue 13, item 2), as the server sends the pages: with a
hostile string in every text field, no page carries a raw tag, template syntax comes out as
written, and the inline scripts carry the response's nonce."""

from __future__ import annotations

import html

import folium
import pytest

from maps.assets import local_map
from maps.detail import TextTooltip
from maps.render import page_html
from tests.hardening.hostile import PAYLOADS, TAGS, poison
from tests.planning.conftest import World


def test_a_map_renders_its_data_once_and_marks_its_scripts():
    """branca parsed each element's output as a template again: a name was code on the server."""
    m = local_map(location=[27.7, 109.2], zoom_start=15, tiles=None)
    name = PAYLOADS["compound"] + PAYLOADS["author"]
    feature = {"type": "Feature", "properties": {"name": name}}
    feature["geometry"] = {"type": "Point", "coordinates": [109.2, 27.7]}
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]}, tooltip=TextTooltip(["name"])
    ).add_to(m)
    page = page_html(m, "n0nce")
    assert "{{ \\u0027wg\\u0027 ~ \\u0027ssti\\u0027 }}" in page
    assert "{% for x in range(3) %}" in page
    for tag in TAGS:
        assert tag not in page, tag
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert "<script>" not in page and page.count('<script nonce="n0nce">') >= 2


@pytest.fixture
def poisoned(world: World) -> World:
    drafted = world.clients["planner"].post(f"/api/v1/communities/{world.home}/drafts")
    assert drafted.status_code == 201, drafted.text
    poison(world)
    return world


def _pages(world: World) -> dict[str, str]:
    street = world.sql("SELECT street_code FROM community WHERE code = :c", c=world.home)[0][0]
    grid = world.sql(
        "SELECT g.code FROM grid g JOIN grid_plan p ON p.id = g.plan_id "
        "WHERE p.community_code = :c AND p.status = 'published' ORDER BY g.number LIMIT 1",
        c=world.home,
    )[0][0]
    planner, anonymous = world.clients["planner"], world.clients["anonymous"]
    pages = {
        "plan list": planner.get("/plan"),
        "planner map": planner.get(f"/plan/{world.home}"),
        "import": planner.get(f"/plan/{world.home}/import"),
        "street map": world.clients["street"].get(f"/plan/street/{street}"),
        "signboard": anonymous.get(f"/g/{grid}/signboard"),
        "grid page": anonymous.get(f"/g/{grid}"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text[:300])
    return {name: response.text for name, response in pages.items()}


def test_no_page_carries_a_stored_tag_or_runs_a_template(poisoned: World):
    pages = _pages(poisoned)
    for name, page in pages.items():
        for tag in TAGS:
            assert tag not in page, (name, tag)
    # the names are there, as text: escaped in HTML, JSON-escaped in the map data
    assert "{{ \\u0027wg\\u0027 ~ \\u0027ssti\\u0027 }}" in pages["planner map"]
    assert "&lt;img src=x onerror=alert(&#39;description&#39;)&gt;范围" in pages["signboard"]
    assert "{% for x in range(3) %}&lt;b&gt;x" in pages["planner map"]
    assert "&lt;script&gt;alert(&#39;planner&#39;)&lt;/script&gt;规划员" in pages["planner map"]
    assert "\\u003cimg src=x onerror=alert(\\u0027building\\u0027)\\u003e" in pages["planner map"]
    assert html.escape(PAYLOADS["street"]) in pages["street map"]
    assert PAYLOADS["community"].replace("'", "&#39;") in pages["plan list"]


def test_every_inline_script_carries_the_responses_nonce(poisoned: World):
    response = poisoned.clients["planner"].get(f"/plan/{poisoned.home}")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    page = response.text
    assert page.count("<script") == page.count(f'<script nonce="{nonce}">') + page.count(
        "<script src="
    )
