"""The city sample on a small slice (two regions, one community each): deterministic for a
seed whatever the number of worker processes, and coded like Tongren's districts and counties
(GB/T 2260), with ids unique across regions and every reference resolving; and
``wangge sample load --city`` on one community per region."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from sqlalchemy.engine import make_url
from stdnum.cn import ric

from data.db import create_database, drop_database
from data.sample.city import ID_COLUMNS, TONGREN, generate_city
from data.sample.identity import BEFORE_2011
from data.settings import libpq_url

TONGREN_CODES = {
    "520602": "碧江区",
    "520603": "万山区",
    "520621": "江口县",
    "520622": "玉屏侗族自治县",
    "520623": "石阡县",
    "520624": "思南县",
    "520625": "印江土家族苗族自治县",
    "520626": "德江县",
    "520627": "沿河土家族自治县",
    "520628": "松桃苗族自治县",
}
ROOT = Path(__file__).resolve().parents[1]
SLICE = (TONGREN[0], TONGREN[-1])  # Bijiang and Songtao


@pytest.fixture(scope="module")
def city():
    return generate_city(7, regions=SLICE, communities=1, workers=2)


def test_the_city_is_tongren_sized_and_coded():
    assert {r.code: r.name for r in TONGREN} == TONGREN_CODES
    assert sum(r.communities for r in TONGREN) == 184
    assert sum(len(r.streets) for r in TONGREN) == 38
    assert sum(r.households for r in TONGREN) == 600_000


def test_a_slice_is_deterministic_whatever_the_workers(city):
    again = generate_city(7, regions=SLICE, communities=1, workers=1)
    for name, frame in city.tables().items():
        pd.testing.assert_frame_equal(frame, getattr(again, name), obj=name)


def test_a_slice_is_coded_by_region(city):
    assert dict(zip(city.district["code"], city.district["name"], strict=True)) == {
        r.code: r.name for r in SLICE
    }
    streets = city.street_office
    assert (streets["code"].str[:6] == streets["district_code"]).all()
    assert streets["code"].str.len().eq(9).all()
    assert set(streets["district_code"]) == {r.code for r in SLICE}
    assert city.community["street_code"].isin(streets["code"]).all()
    assert (city.community["code"].str[:9] == city.community["street_code"]).all()
    plan_community = city.grid_plan.set_index("id")["community_code"]
    assert (city.grid["code"].str[:12] == city.grid["plan_id"].map(plan_community)).all()
    # ID numbers carry the address code the household's region had in the birth year: its
    # code since Tongren became a city (2011), a 5222xx code before, and pass cn.ric.
    building_region = city.building.set_index("id")["community_code"].str[:6]
    region = city.household["building_id"].map(building_region)
    ids = city.household["id_number"]
    assert (ids.str[6:10].astype(int) < 2011).all()  # household heads: adults
    county = region != "520602"
    assert county.any()
    assert (ids[county].str[:6] == region[county].map(BEFORE_2011)).all()
    assert ids[~county].str[:6].isin(["522221", "522201"]).all()
    assert ids.head(500).map(ric.is_valid).all()
    songtao_police = city.staff["organisation"].fillna("").str.contains("松桃苗族自治县公安局")
    assert songtao_police.any()
    assert city.grid_plan["created_by"].str.contains("松桃苗族自治县").any()


def test_a_slices_ids_are_unique_and_every_reference_resolves(city):
    tables = city.tables()
    for table, columns in ID_COLUMNS.items():
        frame = tables[table]
        if "id" in columns:
            assert frame["id"].is_unique, table
        for column, target in columns.items():
            if column == "id":
                continue
            refs = frame[column].dropna()
            assert refs.isin(tables[target]["id"]).all(), (table, column)


def test_the_command_loads_a_city_slice_into_an_empty_database(admin_url, tmp_path):
    name = "wangge_city_cli_test"
    drop_database(admin_url, name)
    create_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        done = subprocess.run(
            [str(ROOT / ".venv/bin/wangge"), "sample", "load", "--city", "--communities", "1"],
            env={**os.environ, "DATABASE_URL": libpq_url(url)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr
        with psycopg.connect(libpq_url(url)) as conn:
            districts = dict(conn.execute("SELECT code, name FROM district").fetchall())
            published = conn.execute(
                "SELECT count(DISTINCT community_code) FROM grid_plan WHERE status = 'published'"
            ).fetchone()[0]
        assert districts == TONGREN_CODES
        assert published == 10
    finally:
        drop_database(admin_url, name)
