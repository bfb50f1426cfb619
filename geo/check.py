"""Check a grid plan against the grid rules, per grid and per rule.

Rules (``RULES``): households in band (under ``MERGE_BELOW`` flagged "merge"); grid polygon in one
piece; grid inside the community; every building in exactly one grid (whole, or unit by unit);
no compound split unless it alone exceeds the ceiling; a building split only by unit and only if
it exceeds the ceiling; polygons tile the community (no gap, no overlap, valid coverage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import require_projected

MERGE_BELOW = 100
AREA_TOLERANCE_M2 = 1.0

RULES = {
    "band": "户数在范围内",
    "contiguous": "网格连片",
    "inside": "网格在社区内",
    "assigned": "每栋楼只属于一个网格",
    "compound": "小区不拆分",
    "building": "楼栋只按单元拆分",
    "tiling": "网格无缝无重叠地覆盖社区",
}


@dataclass(frozen=True)
class Finding:
    """One rule checked for one grid (``grid`` None for community-wide rules)."""

    rule: str
    grid: object
    ok: bool
    detail: str


@dataclass
class PlanReport:
    """Findings of ``check_plan``; ``ok`` when every finding passes."""

    band: tuple[int, int]
    households: dict[Any, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, rule: str, grid: object, ok: bool, detail: str = "") -> None:
        self.findings.append(Finding(rule, grid, bool(ok), detail))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able report: overall result, households per grid and every finding."""
        return {
            "ok": self.ok,
            "band": list(self.band),
            "households": {str(g): int(h) for g, h in self.households.items()},
            "findings": [
                {
                    "rule": f.rule,
                    "grid": None if f.grid is None else str(f.grid),
                    "ok": f.ok,
                    "detail": f.detail,
                }
                for f in self.findings
            ],
        }

    def to_text_zh(self) -> str:
        """Readable zh-CN report: a summary line, then one line per failed finding."""
        failed = [f for f in self.findings if not f.ok]
        low, high = self.band
        head = f"共 {len(self.households)} 个网格，每格 {low}–{high} 户；" + (
            "全部检查通过。" if not failed else f"{len(failed)} 项不合规："
        )
        lines = [head]
        for f in failed:
            where = "社区" if f.grid is None else f"网格 {f.grid}"
            lines.append(f"- {where}：{RULES[f.rule]} ✗ {f.detail}")
        return "\n".join(lines)


def check_plan(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    units: pd.DataFrame | None,
    assignment: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    band: tuple[int, int] = (300, 500),
) -> PlanReport:
    """Check a plan: assignment, grid polygons and the community.

    Parameters
    ----------
    community
        Community (Multi)Polygon, metres.
    buildings
        Buildings (``geo.atoms``), projected CRS.
    units
        Unit entrances (``geo.atoms``) or None.
    assignment
        Assignment (``geo.atoms``): ``building_id``, ``unit_id``, ``grid``.
    grids
        Grid polygons indexed by grid label, same CRS.
    band
        (low, high) households per grid.

    Returns
    -------
    PlanReport
    """
    require_projected(buildings, "楼栋")
    require_projected(grids, "网格")
    low, high = band
    report = PlanReport(band)
    rows = _households(buildings, units, assignment)
    totals = rows.groupby("grid")["households"].sum()
    for grid in sorted(set(totals.index) | set(grids.index), key=str):
        count = int(totals.get(grid, 0))
        report.households[grid] = count
        detail = f"{count} 户" + ("，应合并" if count < MERGE_BELOW else "")
        report.add("band", grid, low <= count <= high, detail)
    for grid, geom in grids.geometry.items():
        report.add(
            "contiguous",
            grid,
            shapely.get_num_geometries(geom) == 1,
            f"{shapely.get_num_geometries(geom)} 块",
        )
        outside = shapely.difference(geom, community).area
        report.add("inside", grid, outside <= AREA_TOLERANCE_M2, f"社区外 {outside:.1f} 平方米")
    _check_assigned(report, buildings, units, assignment)
    _check_splits(report, buildings, rows, high)
    _check_tiling(report, community, grids)
    return report


def _households(
    buildings: pd.DataFrame, units: pd.DataFrame | None, assignment: pd.DataFrame
) -> pd.DataFrame:
    """Households of each assignment row (a whole building or one unit)."""
    rows = assignment.copy()
    whole = rows["unit_id"].isna()
    rows["households"] = 0
    rows.loc[whole, "households"] = (
        buildings["households"].reindex(rows.loc[whole, "building_id"]).fillna(0).to_numpy()
    )
    if units is not None and (~whole).any():
        per_unit = units.set_index(["building_id", "unit_id"])["households"]
        keys = pd.MultiIndex.from_frame(rows.loc[~whole, ["building_id", "unit_id"]])
        rows.loc[~whole, "households"] = per_unit.reindex(keys).fillna(0).to_numpy()
    rows["compound_id"] = (
        buildings["compound_id"].reindex(rows["building_id"]).to_numpy()
        if ("compound_id" in buildings)
        else None
    )
    return rows


def _check_assigned(
    report: PlanReport,
    buildings: pd.DataFrame,
    units: pd.DataFrame | None,
    assignment: pd.DataFrame,
) -> None:
    named = set(assignment["building_id"])
    missing = [b for b in buildings.index if b not in named]
    unknown = sorted(named - set(buildings.index), key=str)
    whole = assignment[assignment["unit_id"].isna()]
    twice = whole["building_id"][whole["building_id"].duplicated()].tolist()
    mixed = sorted(
        set(whole["building_id"])
        & set(assignment.loc[assignment["unit_id"].notna(), "building_id"]),
        key=str,
    )
    split = assignment[assignment["unit_id"].notna()]
    partial = []
    if units is not None and not split.empty:
        for building_id, group in split.groupby("building_id"):
            expected = set(units.loc[units["building_id"] == building_id, "unit_id"])
            if set(group["unit_id"]) != expected or group["unit_id"].duplicated().any():
                partial.append(building_id)
    problems = {
        "未分配": missing,
        "不存在": unknown,
        "重复分配": twice,
        "整栋与单元同时分配": mixed,
        "单元不全或重复": partial,
    }
    detail = "；".join(f"{k}: {v[:5]}" for k, v in problems.items() if v)
    report.add("assigned", None, not detail, detail)


def _check_splits(
    report: PlanReport, buildings: pd.DataFrame, rows: pd.DataFrame, high: int
) -> None:
    for compound_id, group in rows.dropna(subset=["compound_id"]).groupby("compound_id"):
        grids = group["grid"].unique()
        total = int(buildings.loc[buildings["compound_id"] == compound_id, "households"].sum())
        if len(grids) > 1:
            report.add(
                "compound",
                None,
                total > high,
                f"小区 {compound_id}（{total} 户）分在网格 {sorted(map(str, grids))}",
            )
    for building_id, group in rows[rows["unit_id"].notna()].groupby("building_id"):
        total = int(buildings.at[building_id, "households"])
        if group["grid"].nunique() > 1:
            report.add(
                "building",
                None,
                total > high,
                f"楼栋 {building_id}（{total} 户）按单元分在 {group['grid'].nunique()} 个网格",
            )


def _check_tiling(report: PlanReport, community: BaseGeometry, grids: gpd.GeoDataFrame) -> None:
    geoms = grids.geometry.values
    union = shapely.union_all(geoms)
    gap = shapely.difference(community, union).area
    overlap = float(shapely.area(geoms).sum() - union.area)
    valid = bool(shapely.coverage_is_valid(geoms))
    ok = valid and gap <= AREA_TOLERANCE_M2 and overlap <= AREA_TOLERANCE_M2
    report.add("tiling", None, ok, f"缝隙 {gap:.1f} 平方米，重叠 {overlap:.1f} 平方米")
