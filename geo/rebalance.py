"""Re-balance an existing plan after household counts change.

The atoms are rebuilt from the new counts; each atom starts in the grid of its pieces under the
old assignment (the grid holding most of its households when the old plan split it). The repair
of ``geo.repair`` then moves as few households as it can until every grid is in band. The new
grids are matched to the old ones so as to keep the most households under their old label (an
assignment problem): grids that lose or gain nothing keep their labels, hence their codes,
numbers and staff; a grid split in two keeps its label for its larger share and the other part
gets the next unused label. A grid of the old plan that lies in several unconnected parts (across
a river without a bridge, say) keeps its label on its largest part; the other parts start as new
grids, so that every grid comes out in one piece.

A compound the old plan split (it was over the ceiling, or ``geo.divide`` split it because no
plan keeps it whole) is joined now that it fits a grid, unless joining it leaves more households
out of band than keeping it split: then it stays split, flagged like ``geo.divide``'s splits.
Every grid left out of band is named in ``Rebalance.exceptions`` with its reason in Chinese;
``proven`` where an atom of it has no connected set in band around it (``geo.exhaustive``), so
that no plan can bring it into band.
Grid labels must be integers (``geo.divide`` numbers grids 1..n).

``method="exact"`` then hands the fast path's plan to ``geo.optimum`` as a warm start: CP-SAT
searches, within ``time_limit`` seconds, the plan moving the fewest households where each moved
household goes to a grid next to its own (the "best plan" offered to planners), and its plan is
taken when it moves fewer; otherwise the fast path's plan stands. ``method="optimum"`` does that
for a quarter of the time, then searches every plan from the best plan so far (the benchmark's
yardstick: slower, and its bound holds for any plan).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from geo.atoms import grid_of_pieces
from geo.divide import Division, Flag, split_flags
from geo.exhaustive import homeless
from geo.labelling import Links, in_band, lower_bound, plan_violation
from geo.moves import atom_bound
from geo.optimum import Optimum, exact_rebalance, moved_households
from geo.polygons import face_owners
from geo.prepared import Prepared, polygons_of, prepare
from geo.reasons import flag_message, homeless_reason, stuck_reason
from geo.repair import rebalance_labels
from geo.split import split_compounds

#: Share of the time limit the exact methods give the model of moves to neighbouring grids.
NEARBY_SHARE = {"exact": 1.0, "optimum": 0.25}


@dataclass(frozen=True)
class Rebalance:
    """Result of ``rebalance``.

    Attributes
    ----------
    assignment
        New assignment (``geo.atoms``).
    grids
        Grid polygons indexed by label, with ``households``.
    moves
        One row per piece that changes grid: ``building_id``, ``unit_id``, ``households``,
        ``new_households`` (those of them in ``new_units`` or ``new_buildings``, who had no
        grid worker yet), ``settled_households`` (the others: their grid worker changes),
        ``from_grid``, ``to_grid``.
    per_grid
        Per grid label: ``households_before``, ``households_after``, ``buildings_in``,
        ``buildings_out``, ``households_in``, ``households_out``.
    lower_bound
        Σ households above the ceiling + Σ shortfall under the floor before re-balancing.
    atom_bound
        Fewest households that moving whole atoms (compounds, buildings, units) can move
        (``geo.moves.atom_bound``): at least ``lower_bound``, often more where compounds are
        large.
    optimum
        The exact solver's answer with ``method="exact"`` (``geo.optimum.Optimum``: whether
        the plan is the proven optimum, else the best bound), or None.
    exceptions
        Every grid left out of band, with the reason in Chinese (``geo.divide.Flag``);
        ``proven`` where no plan can bring it into band.
    """

    assignment: pd.DataFrame
    grids: gpd.GeoDataFrame
    moves: pd.DataFrame
    per_grid: pd.DataFrame
    lower_bound: int
    atom_bound: int
    optimum: Optimum | None = None
    exceptions: tuple[Flag, ...] = ()

    @property
    def moved_households(self) -> int:
        return int(self.moves["households"].sum())


def rebalance(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    units: pd.DataFrame | None,
    barriers: gpd.GeoDataFrame | None,
    assignment: pd.DataFrame,
    band: tuple[int, int] = (300, 500),
    seed: int = 0,
    method: str = "fast",
    time_limit: float = 10.0,
    new_units: Collection[int] = (),
    new_buildings: Collection[int] = (),
) -> Rebalance:
    """Fix every band violation of ``assignment`` under new household counts, moving few.

    Parameters
    ----------
    community
        Community (Multi)Polygon, metres.
    buildings
        Buildings with their *new* household counts (``geo.atoms``), projected CRS.
    units
        Unit entrances with new counts, or None.
    barriers
        Roads and rivers (column ``kind``), or None.
    assignment
        Current assignment (``geo.atoms``) with integer grid labels.
    band
        (low, high) households per grid.
    seed
        Seed for the rare case that a grid must be split.
    method
        "fast": the greedy repair (``geo.repair.rebalance_labels``); "exact": then the exact
        solver (``geo.optimum``, moves to neighbouring grids) for at most ``time_limit``
        seconds, its plan taken when it moves fewer households; "optimum": the same over every
        plan.
    time_limit
        Seconds the exact solver may search.
    new_units
        Unit entrances (``unit_id`` of ``units``) built since ``assignment`` was made: their
        households have no grid worker yet, so every method places them where they fit best
        and counts as moved only the other households (``moves`` still lists every piece that
        changes grid).
    new_buildings
        Buildings (``buildings`` index) built since ``assignment`` was made: all their
        households are new, as for ``new_units``.

    Returns
    -------
    Rebalance
        Violations that no move could remove stay visible in ``grids["households"]`` and are
        named in ``exceptions``.
    """
    prepared = prepare(community, buildings, units, barriers, band)
    old_piece = grid_of_pieces(prepared.atoms, assignment).astype(int)
    fresh = new_households(prepared.atoms.pieces, units, new_units, new_buildings)
    plan = whole = _plan(prepared, old_piece, band, seed, method, time_limit, fresh)
    split = _split_before(prepared, old_piece)
    if split and whole.violation > 0:
        # a compound the old plan split (it was over the ceiling) stays split where joining
        # it leaves grids out of band
        relaxed = _plan(
            split_compounds(prepared, split)[0], old_piece, band, seed, method, time_limit, fresh
        )
        if relaxed.violation < whole.violation:
            plan = relaxed
    prepared, fixed = plan.prepared, plan.labels
    weight = prepared.atoms.pieces["households"].to_numpy()
    new, grids = polygons_of(community, prepared, fixed, barriers, buildings.crs)
    after = pd.Series(weight).groupby(new["grid"].to_numpy()).sum()
    grids.insert(0, "households", after.reindex(grids.index, fill_value=0).to_numpy())
    changed = new["grid"].to_numpy() != old_piece
    moves = new.loc[changed, ["building_id", "unit_id"]].assign(
        households=weight[changed], from_grid=old_piece[changed], to_grid=new["grid"][changed]
    )
    fresh_moved = new_households(moves, units, new_units, new_buildings)
    moves.insert(3, "new_households", fresh_moved)
    moves.insert(4, "settled_households", moves["households"].to_numpy() - fresh_moved)
    before = pd.Series(weight).groupby(old_piece).sum()
    exceptions = _exceptions(plan, band)
    if plan is not whole:
        reason = "；".join(flag.message for flag in _exceptions(whole, band))
        table, pieces = whole.prepared.atoms.table, whole.prepared.atoms.pieces
        splits = [
            (
                table["name"].iat[atom],
                int(table["households"].iat[atom]),
                pieces.loc[pieces["atom"] == atom, "building_id"].unique(),
                reason,
            )
            for atom in split
        ]
        exceptions += split_flags(Division(new, grids), splits)
    return Rebalance(
        new,
        grids,
        moves.reset_index(drop=True),
        _per_grid(before, after, moves),
        lower_bound(before.to_numpy(), band),
        atom_bound(plan.nodes, plan.start, band),
        plan.optimum,
        exceptions,
    )


@dataclass(frozen=True)
class _Plan:
    """A re-balanced labelling of the nodes of ``prepared`` (``start``: the old plan's)."""

    prepared: Prepared
    nodes: np.ndarray
    start: np.ndarray
    labels: np.ndarray
    violation: int
    optimum: Optimum | None


def _plan(
    prepared: Prepared,
    old_piece: np.ndarray,
    band,
    seed: int,
    method: str,
    time_limit: float,
    fresh: np.ndarray,
) -> _Plan:
    """The old plan (``old_piece``: grid of each piece) on the nodes of ``prepared``, each atom
    in the grid holding most of its households, re-balanced by ``method``; ``fresh``: the new
    households of each piece, which no move counts."""
    atoms = prepared.atoms
    weight = atoms.pieces["households"].to_numpy()
    share = pd.DataFrame({"atom": atoms.pieces["atom"], "grid": old_piece, "households": weight})
    major = (
        share.groupby(["atom", "grid"], as_index=False)["households"]
        .sum()
        .sort_values(["atom", "households", "grid"], ascending=[True, False, True])
        .drop_duplicates("atom")
    )
    nodes = prepared.graph.weights(atoms.table["households"].to_numpy())
    labels = _one_piece_each(
        prepared.graph,
        nodes,
        np.concatenate(
            [
                major.set_index("atom")["grid"].sort_index().to_numpy(dtype=int),
                _free_labels(prepared, old_piece),
            ]
        ),
    )
    links = _links(prepared)
    held = _held_households(share.assign(households=weight - fresh))
    cost = np.bincount(held["node"].to_numpy(), held["households"].to_numpy(), len(nodes))
    rng = np.random.default_rng(seed)
    fixed = rebalance_labels(prepared.graph, nodes, labels, band, rng, links, cost)
    optimum = None
    if method in ("exact", "optimum"):
        solve = partial(exact_rebalance, prepared.graph, nodes, labels, band, held=held, seed=seed)
        solve = partial(solve, links=links)
        # moves to neighbouring grids first: a small model that often improves on the fast
        # path quickly, and a better plan to start from makes the whole model smaller
        optimum = solve(hint=fixed, time_limit=time_limit * NEARBY_SHARE[method], nearby=True)
        fixed = _better(nodes, held, band, fixed, optimum)
        if method == "optimum":
            optimum = solve(hint=fixed, time_limit=max(time_limit - optimum.seconds, 0.01))
            fixed = _better(nodes, held, band, fixed, optimum)
    elif method != "fast":
        raise ValueError(f"unknown re-balancing method {method!r}")
    fixed = _keep_labels(fixed, held)
    return _Plan(prepared, nodes, labels, fixed, plan_violation(nodes, fixed, band), optimum)


def _split_before(prepared: Prepared, old_piece: np.ndarray) -> list[int]:
    """Compound atoms whose buildings lay in several grids under the old plan (a compound
    over the ceiling then, at or under it now)."""
    pieces = prepared.atoms.pieces
    kind = prepared.atoms.table["kind"].to_numpy()
    grids = pd.Series(old_piece).groupby(pieces["atom"].to_numpy()).nunique()
    return [int(a) for a in grids.index[grids.to_numpy() > 1] if kind[a] == "compound"]


def new_households(
    pieces: pd.DataFrame,
    units: pd.DataFrame | None,
    new_units: Collection[int],
    new_buildings: Collection[int] = (),
) -> np.ndarray:
    """Households of each piece in the ``new_units`` entrances or ``new_buildings``: a unit
    piece's own, a whole building's in its new entrances, and all of a new building's.

    Parameters
    ----------
    pieces
        Pieces (``building_id``, ``unit_id`` or None, ``households``): an assignment's rows or
        ``Rebalance.moves``.
    units
        Unit entrances (``building_id``, ``unit_id``, ``households``), or None.
    new_units
        ``unit_id`` of the entrances built since the plan.
    new_buildings
        ``building_id`` of the buildings built since the plan.

    Returns
    -------
    numpy.ndarray
        One count per piece, at most the piece's ``households``.
    """
    households = pieces["households"].to_numpy()
    fresh = np.zeros(len(pieces))
    if units is not None and len(new_units):
        new = units[units["unit_id"].isin(list(new_units))]
        per_building = new.groupby("building_id")["households"].sum()
        per_unit = new.set_index("unit_id")["households"]
        whole = pieces["unit_id"].isna().to_numpy()
        by_building = per_building.reindex(pieces["building_id"]).fillna(0).to_numpy()
        by_unit = per_unit.reindex(pieces["unit_id"].fillna(-1)).fillna(0).to_numpy()
        fresh = np.where(whole, by_building, by_unit)
    fresh = np.where(pieces["building_id"].isin(list(new_buildings)), households, fresh)
    return np.minimum(fresh, households).astype(int)


def _held_households(share: pd.DataFrame) -> pd.DataFrame:
    """Households per (``node``, ``grid``) of the old plan, from the pieces' atom, grid and
    households."""
    held = share.groupby(["atom", "grid"], as_index=False)["households"].sum()
    return held.rename(columns={"atom": "node"})


def _keep_labels(labels: np.ndarray, held: pd.DataFrame) -> np.ndarray:
    """``labels`` renamed so that the grids keep the most households under their old label (an
    assignment problem between new and old grids); a grid matched to none gets the next unused
    label. The searches name a new grid wherever it arises, and a grid whose label changes
    changes the grid worker of every household in it."""
    used = np.unique(labels[labels >= 0])
    old = np.unique(held["grid"].to_numpy())
    table = np.zeros((len(used), len(old)))
    np.add.at(
        table,
        (
            np.searchsorted(used, labels[held["node"].to_numpy()]),
            np.searchsorted(old, held["grid"].to_numpy()),
        ),
        held["households"].to_numpy(),
    )
    rows, cols = linear_sum_assignment(table, maximize=True)
    name = dict(zip(used[rows].tolist(), old[cols].tolist(), strict=True))
    fresh = itertools.count(int(max(old.max(), used.max())) + 1)
    mapping = np.array([name[g] if g in name else next(fresh) for g in used.tolist()])
    out = labels.copy()
    out[labels >= 0] = mapping[np.searchsorted(used, labels[labels >= 0])]
    return out


def _exceptions(plan: _Plan, band) -> tuple[Flag, ...]:
    """A flag for each grid of ``plan`` out of band: ``proven`` with the atom no grid in band
    can hold (``geo.exhaustive.homeless``), else saying that the searches found no moves."""
    prepared = plan.prepared
    atoms = plan.labels[: prepared.graph.atoms]
    totals = pd.Series(plan.nodes[: prepared.graph.atoms]).groupby(atoms).sum()
    flags = []
    for grid, count in totals.items():
        if grid < 0 or in_band(count, band):
            continue
        own = np.flatnonzero(atoms == grid)
        atom = homeless(prepared.graph, plan.nodes, own, band)
        text = (
            stuck_reason(prepared, own, band)
            if atom is None
            else homeless_reason(prepared, atom, band)
        )
        message = flag_message(int(grid), int(count), band, "part", text)
        flags.append(Flag(int(grid), int(count), message, proven=atom is not None))
    return tuple(flags)


def _better(households, held, band, labels: np.ndarray, optimum: Optimum) -> np.ndarray:
    """The exact solver's labels when they are fewer out of band, then fewer moved."""
    now = (plan_violation(households, labels, band), moved_households(households, held, labels))
    if optimum.labels is not None and (optimum.violation, optimum.moved) < now:
        return optimum.labels
    return labels


def _one_piece_each(graph, weight: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels where a grid whose atoms lie in several parts (joined by the grid's own nodes or by
    free faces) keeps its label on the part with the most households; the other parts become new
    grids (repair then merges the small ones)."""
    labels = labels.copy()
    free = (graph.u >= graph.atoms) | (graph.v >= graph.atoms)
    same = (labels[graph.u] == labels[graph.v]) | free
    matrix = coo_array((np.ones(same.sum()), (graph.u[same], graph.v[same])), (graph.n, graph.n))
    part = connected_components(matrix, directed=False)[1]
    atoms = np.arange(graph.n) < graph.atoms
    totals = pd.DataFrame({"grid": labels, "part": part, "households": weight})[atoms]
    totals = totals.groupby(["grid", "part"], as_index=False)["households"].sum()
    totals = totals.sort_values(["grid", "households", "part"], ascending=[True, False, True])
    extra = totals[totals.duplicated("grid")]
    new = labels.max() + 1 + np.arange(len(extra))
    grids = extra["grid"].to_numpy()
    for p, grid, label in zip(extra["part"].to_numpy(), grids, new, strict=True):
        labels[atoms & (part == p) & (labels == grid)] = label
    return labels


def _links(prepared: Prepared) -> Links:
    """Fragments of the graph's nodes (cells of one node joined by shared edges) and the
    fragment pairs whose cells share an edge along an edge of the graph."""
    cells, graph = prepared.cells, prepared.graph
    node = np.full(len(cells.faces), -1)
    owned = cells.piece >= 0
    node[owned] = prepared.atoms.pieces["atom"].to_numpy()[cells.piece[owned]]
    node[graph.faces] = graph.atoms + np.arange(len(graph.faces))
    a, b = cells.a, cells.b
    same = (node[a] >= 0) & (node[a] == node[b])
    n = len(node)
    matrix = coo_array((np.ones(same.sum()), (a[same], b[same])), (n, n))
    part = connected_components(matrix, directed=False)[1]
    faces = np.flatnonzero(node >= 0)
    table = pd.DataFrame({"node": node[faces], "part": part[faces]}).drop_duplicates()
    table = table.sort_values(["node", "part"])
    first = ~table["node"].duplicated().to_numpy()
    extra = table["node"].to_numpy()[~first]
    ids = np.where(first, table["node"].to_numpy(), graph.n + np.cumsum(~first) - 1)
    fragment = np.full(part.max() + 1, -1)
    fragment[table["part"].to_numpy()] = ids
    pair = (node[a] >= 0) & (node[b] >= 0) & (node[a] != node[b])
    lo, hi = np.minimum(node[a], node[b]), np.maximum(node[a], node[b])
    pair &= np.isin(lo * n + hi, graph.u * n + graph.v)
    fa, fb = fragment[part[a[pair]]], fragment[part[b[pair]]]
    edges = np.unique(np.stack([np.minimum(fa, fb), np.maximum(fa, fb)]), axis=1)
    return Links(np.concatenate([np.arange(graph.n), extra]), edges[0], edges[1])


def _free_labels(prepared: Prepared, grid_of_piece: np.ndarray) -> np.ndarray:
    """Grid of each free-face node under the old plan (the grid its face joins)."""
    index = np.unique(grid_of_piece)
    owner = face_owners(prepared.cells, np.searchsorted(index, grid_of_piece))
    return index[owner[prepared.graph.faces]]


def _per_grid(before: pd.Series, after: pd.Series, moves: pd.DataFrame) -> pd.DataFrame:
    index = sorted(set(before.index) | set(after.index))
    out = pd.DataFrame(index=pd.Index(index, name="grid"))
    out["households_before"] = before.reindex(index, fill_value=0)
    out["households_after"] = after.reindex(index, fill_value=0)
    out["buildings_in"] = moves.groupby("to_grid")["building_id"].nunique().reindex(index).fillna(0)
    out["buildings_out"] = (
        moves.groupby("from_grid")["building_id"].nunique().reindex(index).fillna(0)
    )
    out["households_in"] = moves.groupby("to_grid")["households"].sum().reindex(index).fillna(0)
    out["households_out"] = moves.groupby("from_grid")["households"].sum().reindex(index).fillna(0)
    return out.astype(int)
