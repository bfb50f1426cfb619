"""Divide a community (or a region of any size) into grids from scratch: a plan for every input.

1. Atoms (``geo.atoms``): compounds, else buildings, else unit entrances under the ceiling. An
   atom over the ceiling (a building without unit data, a unit over the ceiling) becomes a grid of
   its own, flagged.
2. Blocks (``geo.polygons.blocks``) and the weighted atom graph (``geo.graph``): cheap to cut
   across roads, expensive inside blocks and compounds, no links across rivers except at bridges.
3. Each connected part of the graph is split into grids by ``geo.partition``; the number of grids
   is the feasible count closest to the middle of the band. A part of more than
   ``geo.search.CHUNK_ABOVE`` grids is first cut into chunks of about ``CHUNK_GRIDS`` grids by
   METIS (``geo.multilevel``), so that the search's cost stays bounded per chunk and the whole
   division grows near-linearly with the region; a grid a chunk's search leaves out of band
   is drawn again with the grids around it (``geo.mend``). When lumpy atoms defeat the
   search, it runs again with a widened band and ``geo.greedy`` moves atoms until every grid
   is in band; failing that, the strict search tries every feasible count, and a small part is
   searched exhaustively. The inputs are validated and the graph built once by
   ``geo.prepared``; the search is ``geo.search``.
4. Where no division keeps every rule (an atom under the floor whose neighbours are all too big
   to share a grid with it, a part whose total fits no whole number of grids, an exhaustive
   search that found none) or the time budget ran out, the part gets the plan of least violation
   found (fewest households outside the band, then fewest grids outside it) and each grid
   outside the band is named in ``Division.exceptions`` with the reason, in Chinese
   (``geo.reasons``). With ``strict`` the engine refuses instead (``NoValidDivision``).
5. Grid polygons (``geo.polygons.grid_polygons``), numbered west→east, north→south
   (``geo.numbering``); grid labels are these sequence numbers 1..n.

Input shapes are documented in ``geo.atoms``. Everything is in a projected CRS (metres).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.labelling import in_band
from geo.numbering import grid_sequence
from geo.prepared import Prepared, polygons_of, prepare
from geo.reasons import TIMED_OUT, flag_message
from geo.search import Planner

#: Default time budget of the search, seconds.
TIME_LIMIT_S = 60.0


@dataclass(frozen=True)
class Flag:
    """A grid that breaks a rule in a plan of least violation, and why (``message``, zh-CN).

    ``rule`` is the rule broken, as ``geo.check`` names it: "band" (the grid's households), or
    "compound" (a compound split, ``grid`` the first grid holding part of it). ``proven``: no
    plan keeps the rule there (the message is a proof, not a search that gave up); set by
    ``geo.rebalance``."""

    grid: int
    households: int
    message: str
    rule: str = "band"
    proven: bool = False


@dataclass(frozen=True)
class Division:
    """A division of one community.

    Attributes
    ----------
    assignment
        One row per piece: ``building_id``, ``unit_id`` (None for a whole building), ``grid``.
    grids
        Index = grid label (sequence number 1..n), columns ``households`` and ``geometry``.
    exceptions
        Every grid outside the band, with the reason (empty when every rule is kept).
    timed_out
        Whether the time budget ran out before the search finished (the plan is the best found).
    """

    assignment: pd.DataFrame
    grids: gpd.GeoDataFrame
    exceptions: tuple[Flag, ...] = field(default=())
    timed_out: bool = False


def divide(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    units: pd.DataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    band: tuple[int, int] = (300, 500),
    seed: int = 0,
    *,
    strict: bool = False,
    time_limit: float | None = TIME_LIMIT_S,
    progress: Callable[[str, int, int], None] | None = None,
) -> Division:
    """Divide a community into contiguous, compact grids within the household band.

    Parameters
    ----------
    community
        Community (Multi)Polygon in the CRS of ``buildings``.
    buildings
        Buildings (projected CRS), see ``geo.atoms``.
    units
        Unit entrances, see ``geo.atoms``; needed for buildings over the ceiling.
    barriers
        Roads and rivers with a column ``kind`` in {"road", "river"}, or None.
    band
        (low, high) households per grid.
    seed
        Seed of ``numpy.random.default_rng``; the same inputs and seed give the same division
        (unless the time budget cuts the search short).
    strict
        Refuse (``NoValidDivision``) instead of returning a plan of least violation.
    time_limit
        Seconds the search may take (None: no limit); then the best plan found is returned with
        ``timed_out`` set.
    progress
        Called as ``progress(stage, done, total)`` after each chunk of the search.

    Returns
    -------
    Division
        Every grid in band, or the plan of least violation with its ``exceptions``.

    Raises
    ------
    geo.errors.NoValidDivision
        Only when ``strict``: no division satisfies the band; the message names the atom and
        the reason.
    geo.crs.CRSError, geo.errors.InvalidInput
        For unusable input.
    """
    deadline = None if time_limit is None else time.monotonic() + time_limit
    prepared = prepare(community, buildings, units, barriers, band, strict)
    planner = Planner(prepared, band, np.random.default_rng(seed), deadline, strict, seed)
    planner.run(progress)
    division = finish(
        community, planner.prepared, planner.labels, barriers, buildings.crs, band, planner.causes
    )
    flags = split_flags(division, planner.splits)
    return replace(division, exceptions=division.exceptions + flags, timed_out=planner.timed_out)


def split_flags(division: Division, splits) -> tuple[Flag, ...]:
    """A flag for each compound the planner split (``geo.split``): the grids holding its
    buildings and why no plan keeps it whole."""
    flags = []
    for name, households, building_ids, reason in splits:
        rows = division.assignment[division.assignment["building_id"].isin(building_ids)]
        grids = sorted(int(g) for g in rows["grid"].unique())
        if len(grids) < 2:
            continue
        where = "、".join(f"网格 {g}" for g in grids)
        first = grids[0]
        message = (
            f"网格 {first}：{name}（{households} 户）拆分到 {len(grids)} 个网格（{where}），"
            f"因为不拆分时{reason}"
        )
        count = int(division.grids.at[first, "households"])
        flags.append(Flag(first, count, message, "compound"))
    return tuple(flags)


def finish(community, prepared: Prepared, grid_of_atom, barriers, crs, band, causes) -> Division:
    """Polygons, sequence numbers, the assignment and the exceptions (grids out of band, with
    the ``causes`` by label) for a labelling of the nodes."""
    assignment, grids = polygons_of(community, prepared, grid_of_atom, barriers, crs)
    sequence = grid_sequence(grids)
    assignment["grid"] = assignment["grid"].map(sequence)
    grids = grids.set_index(sequence.loc[grids.index].to_numpy()).sort_index()
    totals = prepared.atoms.pieces["households"].groupby(assignment["grid"]).sum()
    grids.insert(0, "households", totals.reindex(grids.index, fill_value=0).to_numpy())
    grids.index.name = "grid"
    flags = []
    for label, number in sorted(sequence.items(), key=lambda item: item[1]):
        count = int(grids.at[number, "households"])
        if in_band(count, band):
            continue
        kind, text = causes.get(label, ("part", TIMED_OUT))
        flags.append(Flag(int(number), count, flag_message(int(number), count, band, kind, text)))
    return Division(assignment, grids, tuple(flags))
