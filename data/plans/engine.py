"""The grid engine applied to plans in the database: check, divide, re-balance, move, publish.

Thin wrappers: read a community and a plan as frames (``data.plans.frames``), call ``geo``,
write the result back to the draft. The engine labels grids by their number (the last three
digits of the code), so grids that keep their label keep their code, number and staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Table, delete, select, text
from sqlalchemy.orm import Session

from data.access.audit import record
from data.models import Grid, GridMember, GridPlan, PlanStatus
from data.plans.frames import CommunityFrames, load_community
from data.plans.versions import (
    InvalidEdit,
    PlanError,
    archive_published,
    begin_edit,
    copy_as_new_version,
    finish_edit,
    lock_for_edit,
    lock_plans_of,
    make_published,
    published_plan,
)
from geo.atoms import unit_points
from geo.check import PlanReport, check_plan
from geo.crs import STORAGE_CRS
from geo.divide import divide
from geo.errors import GridError
from geo.numbering import grid_codes
from geo.polygons import grid_polygons
from geo.rebalance import rebalance

#: A building may move only to a grid whose polygon lies this close to it.
NEIGHBOUR_DISTANCE_M = 30.0


@dataclass(frozen=True)
class NewSincePublished:
    """Unit entrance ids and building ids added since a community's plan was published."""

    units: list[int]
    buildings: list[int]


class RulesBroken(PlanError):
    """Publishing a plan that breaks the grid rules without a recorded reason."""

    def __init__(self, report: PlanReport) -> None:
        self.report = report
        super().__init__(
            "方案不符合网格规则，不能发布；如确需例外，请填写原因。\n" + report.to_text_zh()
        )


class EngineError(PlanError):
    """The grid engine refused the input (no valid division, inconsistent data)."""


#: Seconds the exact re-balancing solver may take for the "best plan".
BEST_PLAN_SECONDS = 10.0


@dataclass(frozen=True)
class PlanView:
    """A plan with its frames, assignment (grid = number) and grid polygons in metres."""

    plan: GridPlan
    frames: CommunityFrames
    assignment: pd.DataFrame
    grids: gpd.GeoDataFrame

    def check(self) -> PlanReport:
        return check_plan(
            self.frames.boundary,
            self.frames.buildings,
            self.frames.units,
            self.assignment,
            self.grids,
            self.frames.band,
        )


def view_plan(session: Session, plan: GridPlan) -> PlanView:
    frames = load_community(session, plan.community_code)
    assignment = pd.read_sql(
        text(
            "SELECT m.building_id, m.unit_id, g.number AS grid FROM grid_member m "
            "JOIN grid g ON g.id = m.grid_id WHERE m.plan_id = :plan ORDER BY 1, 2"
        ),
        session.connection(),
        params={"plan": plan.id},
    )
    assignment["unit_id"] = assignment["unit_id"].astype(object)
    assignment.loc[assignment["unit_id"].isna(), "unit_id"] = None
    rows = pd.read_sql(
        text("SELECT number, ST_AsBinary(geom) AS geom FROM grid WHERE plan_id = :plan"),
        session.connection(),
        params={"plan": plan.id},
    )
    grids = gpd.GeoDataFrame(
        index=rows["number"].rename(None),
        geometry=shapely.from_wkb(rows["geom"].map(bytes).to_numpy()),
        crs=STORAGE_CRS,
    ).to_crs(frames.crs)
    return PlanView(plan, frames, assignment, grids.sort_index())


def tallies(view: PlanView) -> pd.DataFrame:
    """Households and buildings per grid number, with the band status of each grid."""
    report = view.check()
    low, high = view.frames.band
    frame = pd.DataFrame(
        {"households": pd.Series(report.households, dtype="int64")},
    ).rename_axis("number")
    frame["buildings"] = view.assignment.groupby("grid")["building_id"].nunique()
    frame["buildings"] = frame["buildings"].fillna(0).astype(int)
    frame["load"] = np.select(
        [frame["households"] < low, frame["households"] > high], ["under", "over"], "in_band"
    )
    return frame


def _polygons(frames: CommunityFrames, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Grid polygons of an assignment exactly as it stands (labels = grid numbers): one point
    per whole building, one per unit entrance where the assignment names units."""
    footprints = frames.buildings.geometry
    xy = np.empty((len(assignment), 2))
    split = assignment["unit_id"].notna().to_numpy()
    whole = assignment.loc[~split, "building_id"]
    xy[~split] = shapely.get_coordinates(shapely.point_on_surface(footprints.loc[whole].values))
    units = frames.units.set_index("unit_id")
    for building_id, rows in assignment[split].groupby("building_id"):
        own = units[units["building_id"] == building_id].sort_values("number")
        spots = dict(
            zip(own.index, unit_points(footprints.loc[building_id], len(own)), strict=True)
        )
        for position, unit_id in zip(rows.index, rows["unit_id"], strict=True):
            xy[assignment.index.get_loc(position)] = spots[unit_id]
    points = gpd.GeoDataFrame(
        {"grid": assignment["grid"].to_numpy()}, geometry=shapely.points(xy), crs=frames.crs
    )
    return grid_polygons(frames.boundary, points, frames.barriers)


def write_assignment(
    session: Session,
    plan: GridPlan,
    frames: CommunityFrames,
    assignment: pd.DataFrame,
    polygons: gpd.GeoDataFrame,
) -> None:
    """Make the draft's grids and members those of ``assignment`` (labels = grid numbers).

    Grids that keep their number keep their row, code, name and staff; new numbers get new
    grids; grids left without buildings are removed.
    """
    drawn = {int(n) for n in polygons.index}
    undrawn = sorted({int(g) for g in assignment["grid"]} - drawn)
    if undrawn:  # members would point at a grid that is about to be deleted
        numbers = "、".join(str(n) for n in undrawn)
        raise EngineError(f"网格引擎未能画出第{numbers}网格的边界，修改未保存")
    existing = {g.number: g for g in session.scalars(select(Grid).where(Grid.plan_id == plan.id))}
    wanted = sorted(int(n) for n in polygons.index)
    geometry = polygons.to_crs(STORAGE_CRS).geometry
    for number in wanted:
        wkb = shapely.to_wkb(shapely.force_2d(geometry.loc[number]))
        multi = text("ST_Multi(ST_GeomFromWKB(:wkb, 4490))").bindparams(wkb=wkb)
        grid = existing.get(number)
        if grid is None:
            code = grid_codes(frames.code, [number])[0]
            grid = Grid(plan_id=plan.id, code=code, number=number, name=f"第{number}网格")
            session.add(grid)
        grid.geom = multi
    for number, grid in existing.items():
        if number not in wanted:
            session.delete(grid)
    session.flush()
    ids = dict(session.execute(select(Grid.number, Grid.id).where(Grid.plan_id == plan.id)).all())
    session.execute(delete(GridMember).where(GridMember.plan_id == plan.id))
    session.execute(
        cast(Table, GridMember.__table__).insert(),
        [
            {
                "plan_id": plan.id,
                "grid_id": ids[int(row.grid)],
                "building_id": int(row.building_id),
                "unit_id": None
                if row.unit_id is None or pd.isna(row.unit_id)
                else int(row.unit_id),
            }
            for row in assignment.itertuples(index=False)
        ],
    )


def new_since_published(session: Session, community_code: str) -> NewSincePublished:
    """Unit entrances and buildings of the community added since its published plan was
    published.

    The published plan is the one people live with: its grid workers serve every household of
    the entrances and buildings that stood when it was published, whatever older version a
    draft was started from. One added since (``created_at``) has households with no grid
    worker yet, so re-balancing may place them freely. A plan with no publication time counts
    nothing as new.
    """
    since = (
        "JOIN grid_plan p ON p.community_code = b.community_code AND p.status = 'published' "
        "WHERE b.community_code = :code AND {table}.created_at > p.published_at"
    )
    units = session.scalars(
        text(
            "SELECT u.id FROM unit_entrance u JOIN building b ON b.id = u.building_id "
            + since.format(table="u")
            + " ORDER BY u.id"
        ),
        {"code": community_code},
    )
    buildings = session.scalars(
        text("SELECT b.id FROM building b " + since.format(table="b") + " ORDER BY b.id"),
        {"code": community_code},
    )
    return NewSincePublished(list(units), list(buildings))


def rebalance_draft(
    session: Session,
    plan: GridPlan,
    expected_revision: int,
    actor: str,
    seed: int = 0,
    best: bool = False,
) -> pd.DataFrame:
    """Re-balance the draft under today's household counts; returns the moves. ``best``: the
    "best plan", the exact solver's (``geo.optimum``) when it moves fewer households within
    ``BEST_PLAN_SECONDS``. The grids left out of band (or a compound left split) are logged
    with the edit, each with its reason.

    The households of entrances and buildings added since the published plan
    (``new_since_published``) have no grid worker yet: they are placed where they fit best
    and not counted as moved. Each move carries ``new_households``, those of its households
    that are new; the edit logs how many households changed grid worker and how many new ones
    moved uncounted."""
    begin_edit(session, plan, expected_revision, actor, "rebalance", "自动调整（再平衡）")
    view = view_plan(session, plan)
    frames = view.frames
    new = new_since_published(session, plan.community_code)
    try:
        result = rebalance(
            frames.boundary,
            frames.buildings,
            frames.units,
            frames.barriers,
            view.assignment,
            frames.band,
            seed,
            method="exact" if best else "fast",
            time_limit=BEST_PLAN_SECONDS,
            new_units=new.units,
            new_buildings=new.buildings,
        )
    except GridError as exc:
        raise EngineError(str(exc)) from exc
    write_assignment(session, plan, frames, result.assignment, result.grids)
    moved = result.moves
    settled = moved["settled_households"].set_axis(moved["building_id"])
    finish_edit(
        session,
        plan,
        actor,
        "rebalance",
        {
            "buildings_moved": int(settled.loc[settled > 0].index.nunique()),
            "households_moved": int(settled.sum()),
            "new_households_moved": int(moved["new_households"].sum()),
            "exceptions": [flag.message for flag in result.exceptions],
        },
    )
    return moved


def divide_draft(
    session: Session,
    plan: GridPlan,
    expected_revision: int,
    actor: str,
    seed: int = 0,
    strict: bool = False,
) -> int:
    """Divide the draft's community from scratch; returns the number of grids. Where the rules
    cannot all be kept the plan of least violation is written (its exceptions are logged with
    the edit and shown by the rule check); ``strict`` refuses instead."""
    begin_edit(session, plan, expected_revision, actor, "divide", "自动划分（重新划分）")
    frames = load_community(session, plan.community_code)
    try:
        division = divide(
            frames.boundary,
            frames.buildings,
            frames.units,
            frames.barriers,
            frames.band,
            seed,
            strict=strict,
        )
    except GridError as exc:
        raise EngineError(str(exc)) from exc
    old = view_plan(session, plan).assignment
    numbers = keep_numbers(old, division.assignment, frames)
    assignment = division.assignment.assign(grid=division.assignment["grid"].map(numbers))
    polygons = division.grids.rename(index=numbers).sort_index()
    write_assignment(session, plan, frames, assignment, polygons)
    exceptions = [flag.message for flag in division.exceptions]
    detail = {"grids": len(division.grids), "exceptions": exceptions}
    finish_edit(session, plan, actor, "divide", detail)
    return len(division.grids)


def keep_numbers(old: pd.DataFrame, new: pd.DataFrame, frames: CommunityFrames) -> dict:
    """Map new grid labels to grid numbers, reusing the number of an old grid that keeps most
    of its households (so its code, signboard and staff stay); other grids get new numbers."""
    weight = _piece_households(new, frames)
    pairs = (
        new.assign(households=weight)
        .merge(old, on=["building_id", "unit_id"], how="left", suffixes=("", "_old"))
        .groupby(["grid", "grid_old"])["households"]
        .sum()
        .sort_values(ascending=False)
    )
    old_totals = (
        old.assign(households=_piece_households(old, frames)).groupby("grid")["households"].sum()
    )
    numbers: dict = {}
    for (label, number), shared in pairs.items():
        if label in numbers or number in numbers.values():
            continue
        if shared * 2 > old_totals.get(number, 0):
            numbers[label] = int(number)
    fresh = iter(range(int(max(old_totals.index, default=0)) + 1, 10**3))
    for label in sorted(set(new["grid"]) - set(numbers)):
        numbers[label] = next(fresh)
    return numbers


def _piece_households(assignment: pd.DataFrame, frames: CommunityFrames) -> np.ndarray:
    """Households of each assignment row (a whole building, or one unit)."""
    units = frames.units.set_index("unit_id")["households"]
    whole = frames.buildings["households"]
    return np.array(
        [
            units.get(u, 0) if u is not None and not pd.isna(u) else whole.get(b, 0)
            for b, u in zip(assignment["building_id"], assignment["unit_id"], strict=True)
        ]
    )


def neighbour_numbers(view: PlanView, building_id: int) -> list[int]:
    """Grids a building may be moved to: other grids whose polygon lies next to it."""
    if building_id not in view.frames.buildings.index:
        raise InvalidEdit(f"楼栋 {building_id} 不在本社区")
    own = set(view.assignment.loc[view.assignment["building_id"] == building_id, "grid"])
    footprint = view.frames.buildings.geometry.loc[building_id]
    near = view.grids.geometry.distance(footprint) <= NEIGHBOUR_DISTANCE_M
    return sorted(int(n) for n in view.grids.index[near] if n not in own)


def move_buildings(
    session: Session,
    plan: GridPlan,
    building_ids: list[int],
    to_number: int,
    expected_revision: int,
    actor: str,
) -> None:
    """Move buildings (all their units; a whole compound, say) into a grid next to them."""
    lock_for_edit(session, plan, expected_revision)
    view = view_plan(session, plan)
    if to_number not in view.grids.index:
        raise InvalidEdit(f"第{to_number}网格不在本方案中")
    if outside := sorted(set(building_ids) - set(view.frames.buildings.index)):
        raise InvalidEdit(f"楼栋 {'、'.join(map(str, outside))} 不在本社区，不能移入本方案的网格")
    names = "、".join(str(b) for b in building_ids[:5]) + (
        f" 等 {len(building_ids)} 栋" if len(building_ids) > 5 else ""
    )
    # A group (a compound) moves together: it must touch the grid somewhere.
    if not any(to_number in neighbour_numbers(view, b) for b in building_ids):
        raise InvalidEdit(f"楼栋 {names} 与第{to_number}网格不相邻，不能移入")
    begin_edit(
        session, plan, expected_revision, actor, "move", f"楼栋 {names} 移入第{to_number}网格"
    )
    assignment = view.assignment.copy()
    assignment.loc[assignment["building_id"].isin(building_ids), "grid"] = to_number
    polygons = _polygons(view.frames, assignment)
    write_assignment(session, plan, view.frames, assignment, polygons)
    finish_edit(session, plan, actor, "move", {"buildings": building_ids, "to_grid": to_number})


def changed_households(session: Session, old_plan_id: int, new_plan_id: int) -> pd.DataFrame:
    """Households whose grid changes between two plans (so their grid worker changes);
    ``new``: the household's entrance or building was added since the old plan was published
    (placed there for now, ``data.plans.membership``)."""
    return pd.read_sql(
        text(
            """
            WITH old AS (
              SELECT h.id, g.code FROM household h
              JOIN grid_member m ON m.building_id = h.building_id
                AND (m.unit_id IS NULL OR m.unit_id = h.unit_id)
              JOIN grid g ON g.id = m.grid_id WHERE m.plan_id = :old
            ), new AS (
              SELECT h.id, g.code FROM household h
              JOIN grid_member m ON m.building_id = h.building_id
                AND (m.unit_id IS NULL OR m.unit_id = h.unit_id)
              JOIN grid g ON g.id = m.grid_id WHERE m.plan_id = :new
            )
            SELECT new.id AS household_id, h.building_id, old.code AS from_grid,
                   new.code AS to_grid,
                   coalesce(b.created_at > p.published_at
                            OR u.created_at > p.published_at, false) AS new
            FROM new JOIN old USING (id) JOIN household h ON h.id = new.id
            JOIN building b ON b.id = h.building_id
            LEFT JOIN unit_entrance u ON u.id = h.unit_id
            JOIN grid_plan p ON p.id = :old
            WHERE old.code <> new.code ORDER BY new.id
            """
        ),
        session.connection(),
        params={"old": old_plan_id, "new": new_plan_id},
    )


def diff_against_published(session: Session, plan: GridPlan) -> dict:
    """Moved buildings and households per grid change, draft against the published plan."""
    published = published_plan(session, plan.community_code)
    if published is None:
        return {
            "moved_buildings": [],
            "households_changing_worker": 0,
            "new_households_changing_grid": 0,
        }
    moved = pd.read_sql(
        text(
            """
            SELECT d.building_id, b.name, c.name AS compound, o.code AS from_grid,
                   n.code AS to_grid,
                   (SELECT count(*) FROM household h WHERE h.building_id = d.building_id
                      AND (d.unit_id IS NULL OR h.unit_id = d.unit_id))::int AS households
            FROM grid_member d
            JOIN grid n ON n.id = d.grid_id
            JOIN grid_member p ON p.plan_id = :pub AND p.building_id = d.building_id
              AND p.unit_id IS NOT DISTINCT FROM d.unit_id
            JOIN grid o ON o.id = p.grid_id
            JOIN building b ON b.id = d.building_id
            LEFT JOIN compound c ON c.id = b.compound_id
            WHERE d.plan_id = :draft AND o.code <> n.code
            ORDER BY d.building_id
            """
        ),
        session.connection(),
        params={"pub": published.id, "draft": plan.id},
    )
    changed = changed_households(session, published.id, plan.id)
    return {
        "published_version": published.version,
        # None, not NaN, for a building outside any compound: NaN is not JSON.
        "moved_buildings": moved.astype(object).where(moved.notna(), None).to_dict("records"),
        "households_changing_worker": len(changed),
        "new_households_changing_grid": int(changed["new"].sum()),
    }


def publish(
    session: Session, plan: GridPlan, expected_revision: int, actor: str, reason: str | None
) -> dict:
    """Publish the draft atomically; the previous plan is archived and stays viewable.

    A draft that breaks the rules is refused unless the planner records a ``reason``.
    Returns the households whose grid (hence grid worker) changed.
    """
    lock_plans_of(session, plan.community_code)
    lock_for_edit(session, plan, expected_revision)
    report = view_plan(session, plan).check()
    if not report.ok and not (reason and reason.strip()):
        raise RulesBroken(report)
    previous = archive_published(session, plan.community_code)
    make_published(session, plan, actor)
    changed = changed_households(session, previous.id, plan.id) if previous is not None else None
    count = 0 if changed is None else len(changed)
    new = 0 if changed is None else int(changed["new"].sum())
    record(
        session,
        actor,
        "publish",
        "grid_plan",
        str(plan.id),
        reason=reason,
        detail={
            "community": plan.community_code,
            "version": plan.version,
            "previous_version": previous.version if previous else None,
            "rules_ok": report.ok,
            "households_changing_worker": count,
            "new_households_changing_grid": new,
        },
    )
    return {
        "version": plan.version,
        "households_changing_worker": count,
        "new_households_changing_grid": new,
        "changed": [] if changed is None else changed.to_dict("records"),
    }


def rollback(
    session: Session, community_code: str, version: int, actor: str, reason: str
) -> GridPlan:
    """Publish a copy of an earlier version as the newest version."""
    lock_plans_of(session, community_code)
    source = session.scalar(
        select(GridPlan).where(
            GridPlan.community_code == community_code, GridPlan.version == version
        )
    )
    if source is None or source.status is PlanStatus.draft:
        raise InvalidEdit(f"没有可回滚的第 {version} 版")
    copy = copy_as_new_version(session, source, actor, f"回滚到第 {version} 版")
    archive_published(session, community_code)
    make_published(session, copy, actor)
    record(
        session,
        actor,
        "rollback",
        "grid_plan",
        str(copy.id),
        reason=reason,
        detail={"community": community_code, "to_version": version, "version": copy.version},
    )
    return copy
