"""Divide a community (or a region of any size) into grids from scratch: a plan for every input.

1. Atoms (``geo.atoms``): compounds, else buildings, else unit entrances under the ceiling. An
   atom over the ceiling (a building without unit data, a unit over the ceiling) becomes a grid of
   its own, flagged.
2. Blocks (``geo.polygons.blocks``) and the weighted atom graph (``geo.graph``): cheap to cut
   across roads, expensive inside blocks and compounds, no links across rivers except at bridges.
3. Each connected part of the graph is split into grids by ``geo.partition``; the number of grids
   is the feasible count closest to the middle of the band. A part of more than ``CHUNK_ABOVE``
   grids is first cut into chunks of about ``CHUNK_GRIDS`` grids by METIS
   (``geo.multilevel``), so that the search's cost stays bounded per chunk and the whole division
   grows near-linearly with the region. When lumpy atoms defeat the search, it runs again with a
   widened band and ``geo.repair`` moves atoms until every grid is in band; failing that, the
   strict search tries every feasible count, and a small part is searched exhaustively.
4. Where no division keeps every rule (an atom under the floor whose neighbours are all too big
   to share a grid with it, a part whose total fits no whole number of grids, an exhaustive
   search that found none) or the time budget ran out, the part gets the plan of least violation
   found (fewest households outside the band, then fewest grids outside it) and each grid
   outside the band is named in ``Division.exceptions`` with the reason, in Chinese. With
   ``strict`` the engine refuses instead (``NoValidDivision``).
5. Grid polygons (``geo.polygons.grid_polygons``), numbered west→east, north→south
   (``geo.numbering``); grid labels are these sequence numbers 1..n.

Input shapes are documented in ``geo.atoms``. Everything is in a projected CRS (metres).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from geo.atoms import Atoms, assignment_frame, build_atoms, piece_points, validate_buildings
from geo.cells import Cells, cell_complex, without_cell
from geo.crs import require_projected
from geo.errors import InvalidInput, NoValidDivision
from geo.exhaustive import MAX_NODES, Undecided, exhaustive_partition
from geo.graph import AtomGraph, atom_graph
from geo.labelling import violation
from geo.multilevel import metis_labels
from geo.numbering import grid_sequence
from geo.partition import feasible_counts, partition
from geo.polygons import grid_polygons
from geo.repair import repair

#: Widenings of the band (share of each bound) tried before repair when the strict search fails.
RELAXATIONS = (0.1, 0.2, 0.35)
#: Widenings tried for the plan of least violation of a part that has no division in band.
WIDER_RELAXATIONS = (0.2, 0.5, 1.0)
#: Grid counts the strict search tries (nearest the middle of the band first) before relaxing.
STRICT_COUNTS = 1
#: A connected part of more grids than this is cut into chunks by METIS before the search.
CHUNK_ABOVE = 16
#: Grids per chunk (at the middle of the band).
CHUNK_GRIDS = 8
#: Seconds the exhaustive search may take on one part.
EXHAUSTIVE_S = 5.0
#: A chunk METIS leaves under this share of ``CHUNK_GRIDS`` joins its smallest neighbour.
SMALL_CHUNK = 0.5
#: Under a time limit, a chunk's search may take this many times its share of the time left.
CHUNK_SHARE = 2.0
#: Default time budget of the search, seconds.
TIME_LIMIT_S = 60.0
TIMED_OUT = "未在时限内找到满足全部规则的划分"


@dataclass(frozen=True)
class Flag:
    """A grid that breaks a rule in a plan of least violation, and why (``message``, zh-CN)."""

    grid: int
    households: int
    message: str


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


@dataclass(frozen=True)
class Prepared:
    """Atoms, blocks and graph of a community, shared by ``divide`` and ``rebalance``."""

    atoms: Atoms
    cells: Cells
    graph: AtomGraph


def prepare(
    community: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    units: pd.DataFrame | None,
    barriers: gpd.GeoDataFrame | None,
    band: tuple[int, int],
    strict: bool = True,
) -> Prepared:
    """Validate the inputs and build atoms, blocks and the atom graph (atoms over the ceiling
    are refused when ``strict``, see ``geo.atoms.build_atoms``)."""
    buildings = validate_buildings(buildings)
    if barriers is not None:
        require_projected(barriers, "道路与河流")
    atoms = build_atoms(buildings, units, band[1], strict)
    xy = atoms.pieces[["x", "y"]].to_numpy()
    cells = cell_complex(community, xy, barriers, atoms.pieces["atom"].to_numpy())
    outside = without_cell(cells, len(xy))
    if outside.any():
        named = atoms.pieces["building_id"][outside].unique()[:5]
        raise InvalidInput(f"楼栋 {list(named)} 不在社区边界内")
    return Prepared(atoms, cells, atom_graph(atoms, cells))


def components(graph: AtomGraph, drop: np.ndarray | None = None) -> list[np.ndarray]:
    """Node indices of each connected part of the graph holding atoms, largest first; nodes
    under the mask ``drop`` are left out (and do not link their neighbours)."""
    keep = np.ones(graph.n, dtype=bool) if drop is None else ~drop
    edge = keep[graph.u] & keep[graph.v]
    matrix = coo_array(
        (np.ones(edge.sum()), (graph.u[edge], graph.v[edge])), shape=(graph.n, graph.n)
    )
    count, label = connected_components(matrix, directed=False)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(count + 1))
    parts = [order[bounds[c] : bounds[c + 1]] for c in range(count)]
    parts = [p for p in parts if p[0] < graph.atoms and keep[p[0]]]
    return sorted(parts, key=lambda p: (-len(p), p[0]))


def connected(graph: AtomGraph, nodes: np.ndarray) -> bool:
    """Whether the atoms ``nodes`` form one connected part of the graph."""
    inside = np.zeros(graph.n, dtype=bool)
    inside[nodes] = True
    keep = inside[graph.u] & inside[graph.v]
    matrix = coo_array((np.ones(keep.sum()), (graph.u[keep], graph.v[keep])), (graph.n, graph.n))
    label = connected_components(matrix, directed=False)[1]
    return len(np.unique(label[nodes])) == 1


def describe(prepared: Prepared, nodes: np.ndarray) -> str:
    """Name a connected part of the community in Chinese: its first atoms and households."""
    table = prepared.atoms.table
    nodes = nodes[nodes < prepared.graph.atoms]
    total = int(table["households"].iloc[nodes].sum())
    if len(nodes) == prepared.graph.atoms:
        return f"社区（共 {total} 户）"
    names = "、".join(
        f"{table['name'].iat[i]}（{table['households'].iat[i]} 户）" for i in nodes[:3]
    )
    return names if len(nodes) <= 3 else f"{names} 等 {len(nodes)} 处（共 {total} 户）"


def infeasible_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str:
    """Why a connected part of the community cannot form grids in the band, in Chinese."""
    low, high = band
    if (nodes < prepared.graph.atoms).sum() == prepared.graph.atoms:
        return f"{describe(prepared, nodes)}无法分成每格 {low}–{high} 户的网格"
    inside = set(nodes.tolist())
    by_river = any(a in inside or b in inside for a, b in prepared.graph.river_cut)
    cause = "被河流和社区边界围合" if by_river else "与社区其他部分不相邻"
    return f"{describe(prepared, nodes)}{cause}，无法与其他楼栋组成 {low}–{high} 户的网格"


def stranded_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str | None:
    """Why no division exists when an atom under the floor cannot share a grid with any of its
    neighbours (each pair exceeds the ceiling), in Chinese; None when there is no such atom."""
    low, high = band
    table = prepared.atoms.table
    graph = prepared.graph
    households = graph.weights(table["households"].to_numpy())
    nodes = nodes[nodes < graph.atoms]
    for atom in nodes[households[nodes] < low].tolist():
        near = np.concatenate([graph.v[graph.u == atom], graph.u[graph.v == atom]])
        if len(near) and (households[near] + households[atom] > high).all():
            names = "、".join(
                f"{table['name'].iat[n]}（{households[n]:.0f} 户）"
                for n in sorted(near.tolist())[:3]
            )
            return (
                f"{table['name'].iat[atom]}（{households[atom]:.0f} 户）不足 {low} 户，"
                f"与相邻的{names}合并都会超过 {high} 户"
            )
    return None


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
    planner = _Planner(prepared, band, np.random.default_rng(seed), deadline, strict, seed)
    planner.run(progress)
    division = finish(
        community, prepared, planner.labels, barriers, buildings.crs, band, planner.causes
    )
    return replace(division, timed_out=planner.timed_out)


class _Planner:
    """One division in progress: the grid label of every node and why grids break the band."""

    def __init__(self, prepared: Prepared, band, rng, deadline, strict: bool, seed: int):
        self.prepared, self.band, self.rng = prepared, band, rng
        self.deadline, self.strict, self.seed = deadline, strict, seed
        #: Deadline of the search under way (a chunk's may come before the division's).
        self.search_deadline = deadline
        self.graph = prepared.graph
        self.households = self.graph.weights(prepared.atoms.table["households"].to_numpy())
        self.labels = np.full(self.graph.n, -1)
        #: Why a grid (by label) may break the band: (kind, text), kind "alone" or "part".
        self.causes: dict[int, tuple[str, str]] = {}
        self.timed_out = False

    def out_of_time(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
        return self.timed_out

    def add(self, nodes: np.ndarray, cause: tuple[str, str] | None = None) -> None:
        label = int(self.labels.max()) + 1
        self.labels[nodes] = label
        if cause is not None:
            self.causes[label] = cause

    def run(self, progress) -> None:
        """Lone atoms over the ceiling first, then every connected part, chunk by chunk."""
        table = self.prepared.atoms.table
        alone = np.zeros(self.graph.n, dtype=bool)
        alone[: self.graph.atoms] = self.households[: self.graph.atoms] > self.band[1]
        for atom in np.flatnonzero(alone).tolist():
            why = "无单元数据，单独成格" if table["kind"].iat[atom] == "building" else "单独成格"
            self.add(
                np.array([atom]),
                ("alone", f"{table['name'].iat[atom]}（{self.households[atom]:.0f} 户）{why}"),
            )
        work: deque = deque()
        for nodes in components(self.graph, alone):
            proof = self.proof(nodes)
            chunks = [nodes] if proof is not None else self.chunks(nodes)
            work += [(chunk, proof, len(chunks) > 1) for chunk in chunks]
        total, done = len(work), 0
        share = None if self.deadline is None else CHUNK_SHARE * (self.deadline - time.monotonic())
        while work:
            nodes, proof, in_chunk = work.popleft()
            if proof is not None:
                self.least(nodes, proof)
            elif in_chunk:
                merged = self.chunk(nodes, work, share / total if share else None)
                total -= merged
            else:
                self.divide(nodes)
            done += 1
            if progress is not None:
                progress("划分网格", done, total)

    def chunk(self, nodes: np.ndarray, work: deque, seconds: float | None) -> int:
        """Grids of a chunk of a large part within ``seconds``. A chunk the search cannot
        divide is joined with the smallest waiting chunk next to it, else with the grids
        already drawn next to it, and searched again; failing that it gets its plan of least
        violation (the drawn grids are given back). Returns the number of chunks absorbed."""
        if seconds is not None:
            self.search_deadline = min(self.deadline, time.monotonic() + seconds)
        tried: list = []
        parts = self.search(nodes, tried=tried)
        absorbed = 0
        if parts is None and not self.past():
            before, near = None, self.waiting_next_to(nodes, work)
            if near is None:
                before, near = self.labels.copy(), self.drawn_next_to(nodes)
            else:
                absorbed = 1
            if near is not None:
                merged, tried_merged = np.concatenate([nodes, near]), []
                parts = self.search(merged, tried=tried_merged)
                if parts is not None or before is None:
                    nodes, tried = merged, tried_merged
                else:
                    self.labels = before
        if parts is not None:
            for part in parts:
                self.add(part)
        else:
            low, high = self.band
            reason = (
                TIMED_OUT
                if self.out_of_time()
                else f"{describe(self.prepared, nodes)}户数过于集中，"
                f"未能分成每格 {low}–{high} 户的连片网格"
            )
            self.least(nodes, reason, tried)
        self.search_deadline = self.deadline
        return absorbed

    def drawn_next_to(self, nodes: np.ndarray) -> np.ndarray | None:
        """The nodes of the grids in band already drawn next to ``nodes``, taken back."""
        near = self.next_to(nodes)
        labels = [g for g in np.unique(self.labels[near]) if g >= 0 and g not in self.causes]
        if not labels:
            return None
        taken = np.isin(self.labels, labels)
        self.labels[taken] = -1
        return np.flatnonzero(taken)

    def next_to(self, nodes: np.ndarray) -> np.ndarray:
        """Nodes outside ``nodes`` that share an edge with one of them."""
        inside = np.zeros(self.graph.n, dtype=bool)
        inside[nodes] = True
        border = inside[self.graph.u] != inside[self.graph.v]
        near = np.union1d(self.graph.u[border], self.graph.v[border])
        return near[~inside[near]]

    def past(self) -> bool:
        """Whether the search under way has used up its time."""
        return self.search_deadline is not None and time.monotonic() > self.search_deadline

    def waiting_next_to(self, nodes: np.ndarray, work: deque) -> np.ndarray | None:
        """The nodes of the smallest waiting chunk next to ``nodes``, taken out of ``work``."""
        near = self.next_to(nodes)
        options = [
            (self.households[item[0]].sum(), i)
            for i, item in enumerate(work)
            if item[2] and np.isin(near, item[0]).any()
        ]
        if not options:
            return None
        index = min(options)[1]
        chosen = work[index][0]
        del work[index]
        return chosen

    def proof(self, nodes: np.ndarray) -> str | None:
        """Why no division of a connected part exists, or None; raises when ``strict``."""
        if not feasible_counts(self.households[nodes].sum(), self.band):
            reason = infeasible_reason(self.prepared, nodes, self.band)
        else:
            reason = stranded_reason(self.prepared, nodes, self.band)
        if reason is not None and self.strict:
            raise NoValidDivision(reason)
        return reason

    def chunks(self, nodes: np.ndarray) -> list[np.ndarray]:
        """The part itself, or chunks of about ``CHUNK_GRIDS`` grids when it is large."""
        grids = self.households[nodes].sum() / (sum(self.band) / 2)
        if grids <= CHUNK_ABOVE:
            return [nodes]
        labels = metis_labels(
            self.graph, self.households, nodes, round(grids / CHUNK_GRIDS), self.seed
        )
        chunks = [nodes[labels == c] for c in range(labels.max() + 1)]
        floor = SMALL_CHUNK * CHUNK_GRIDS * sum(self.band) / 2
        while len(chunks) > 1:
            totals = [self.households[c].sum() for c in chunks]
            small = int(np.argmin(totals))
            if totals[small] >= floor:
                break
            near = self.next_to(chunks[small])
            options = [(totals[i], i) for i, c in enumerate(chunks) if np.isin(near, c).any()]
            other = min(options)[1]
            chunks[other] = np.concatenate([chunks[other], chunks[small]])
            del chunks[small]
        return chunks

    def search(self, nodes: np.ndarray, shares=RELAXATIONS, tried=None):
        """Grids of a connected set in band by the randomised searches (strict, then widened
        by each share and repaired, then every feasible count), or None; the widened attempts
        that fell short go to ``tried`` (violation key, parts)."""
        graph, households, band, rng = self.graph, self.households, self.band, self.rng
        counts = feasible_counts(households[nodes].sum(), band)
        if not counts or self.out_of_time():
            return None
        deadline = self.search_deadline
        parts = partition(graph, households, nodes, band, rng, counts[:1], deadline)
        if parts is None:
            attempts = self.relaxed(nodes, shares)
            if tried is not None:
                tried += attempts
            parts = next((p for key, p in attempts if key == (0, 0)), None)
        return parts or partition(graph, households, nodes, band, rng, deadline=deadline)

    def divide(self, nodes: np.ndarray) -> None:
        """Grids of a connected part or chunk in band, else the plan of least violation."""
        households, band = self.households, self.band
        tried: list = []
        parts = self.search(nodes, tried=tried)
        reason = None
        if parts is None and not self.out_of_time():
            seconds = time.monotonic() + EXHAUSTIVE_S
            deadline = seconds if self.deadline is None else min(self.deadline, seconds)
            parts, reason = _exhaustive(self.prepared, households, nodes, band, deadline)
        if parts:
            for part in parts:
                self.add(part)
            return
        if self.out_of_time():
            reason = TIMED_OUT
        if self.strict:
            raise NoValidDivision(reason)
        self.least(nodes, reason, tried)

    def relaxed(self, nodes: np.ndarray, shares=RELAXATIONS) -> list[tuple[tuple, list]]:
        """Partitions under a band widened by each share, as found and repaired to the strict
        band (``geo.repair``: its merges may leave more violation than they started with), as
        (violation key, parts); stops at the first that keeps the band."""
        graph, households, band = self.graph, self.households, self.band
        out = []
        for share in shares:
            if self.out_of_time():
                break
            wide = (band[0] * (1 - share), band[1] * (1 + share))
            total = households[nodes].sum()
            counts = feasible_counts(total, band) or nearest_counts(total, band)
            parts = partition(
                graph, households, nodes, wide, self.rng, counts, self.search_deadline
            )
            if parts is None:
                continue
            out.append((self.key(parts), parts))
            labels = np.full(graph.n, -1)
            for k, part in enumerate(parts):
                labels[part] = k
            labels = repair(graph, households, labels, band, self.rng)
            fixed = [np.flatnonzero(labels == g) for g in np.unique(labels[nodes])]
            if not all(connected(graph, part) for part in fixed):
                continue
            out.append((self.key(fixed), fixed))
            if out[-1][0] == (0, 0):
                break
        return out

    def key(self, parts: list[np.ndarray]) -> tuple[float, int]:
        """Households outside the band, then grids outside it: smaller is better."""
        sums = [self.households[p].sum() for p in parts]
        return sum(violation(t, self.band) for t in sums), sum(not _in(t, self.band) for t in sums)

    def least(self, nodes: np.ndarray, reason: str, tried=()) -> None:
        """The plan of least violation of a connected set among ``tried`` (violation key,
        parts), METIS parts for the counts nearest the band, as they are and repaired
        (``geo.repair``) while there is time, and (for a part with a proof) the widened search."""
        candidates = list(tried)
        if not tried and not self.past() and len(nodes) <= MAX_NODES * 20:
            candidates += self.relaxed(nodes, WIDER_RELAXATIONS)
        for k in nearest_counts(self.households[nodes].sum(), self.band):
            labels = np.full(self.graph.n, -1)
            parts = self.metis_parts(nodes, k)
            candidates.append((self.key(parts), parts))
            for g, part in enumerate(parts):
                labels[part] = g
            if not self.out_of_time() and not self.past():
                labels = repair(self.graph, self.households, labels, self.band, self.rng)
            parts = [np.flatnonzero(labels == g) for g in np.unique(labels[nodes])]
            candidates.append((self.key(parts), parts))
        best = min(candidates, key=lambda item: item[0])[1]
        for part in best:
            self.add(part, ("part", reason))

    def metis_parts(self, nodes: np.ndarray, k: int) -> list[np.ndarray]:
        """METIS's ``k`` connected parts of ``nodes``; a part METIS left over the ceiling (it
        may, to keep parts connected) is split again for the grids it holds."""
        labels = metis_labels(self.graph, self.households, nodes, k, self.seed)
        parts = []
        for part in (nodes[labels == g] for g in range(labels.max() + 1)):
            total = self.households[part].sum()
            again = nearest_counts(total, self.band)[0]
            if total > self.band[1] and 1 < again < k:
                parts += self.metis_parts(part, again)
            else:
                parts.append(part)
        return parts


def _in(total: float, band: tuple[int, int]) -> bool:
    return band[0] <= total <= band[1]


def nearest_counts(total: float, band: tuple[int, int]) -> list[int]:
    """Grid counts worth trying for ``total`` households: the two feasible counts nearest the
    middle of the band, or when none is feasible the counts on either side of the gap."""
    feasible = feasible_counts(total, band)
    if feasible:
        return feasible[:2]
    below = max(1, int(total // band[1]))
    return sorted({below, below + 1})


def _exhaustive(
    prepared: Prepared, households, nodes, band, deadline: float | None = None
) -> tuple[list[np.ndarray] | None, str]:
    """The division an exhaustive search finds when the randomised ones found none, or None
    and why: none exists (a proof), or the part is too big to tell."""
    low, high = band
    if len(nodes) <= MAX_NODES:
        try:
            parts = exhaustive_partition(prepared.graph, households, nodes, band, deadline=deadline)
        except Undecided:
            parts = []
        if parts is None:
            return None, (
                f"{describe(prepared, nodes)}的楼栋无论怎样组合成连片网格，"
                f"都无法使每格在 {low}–{high} 户之间（已穷举），"
                "可考虑调整本社区的每格户数范围"
            )
        if parts:
            return parts, ""
    return None, f"{describe(prepared, nodes)}户数过于集中，未能分成每格 {low}–{high} 户的连片网格"


def polygons_of(community, prepared: Prepared, labels: np.ndarray, barriers, crs):
    """Assignment and grid polygons for a labelling of the graph's nodes (-1: none)."""
    graph = prepared.graph
    assignment = assignment_frame(prepared.atoms, labels[: graph.atoms])
    points = piece_points(prepared.atoms, crs).assign(grid=assignment["grid"].to_numpy())
    held = labels[graph.atoms :] >= 0
    free = pd.Series(labels[graph.atoms :][held], index=graph.faces[held])
    return assignment, grid_polygons(community, points, barriers, prepared.cells, free)


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
        if _in(count, band):
            continue
        kind, text = causes.get(label, ("part", TIMED_OUT))
        flags.append(Flag(int(number), count, flag_message(int(number), count, band, kind, text)))
    return Division(assignment, grids, tuple(flags))


def flag_message(grid: int, households: int, band, kind: str, text: str) -> str:
    """A grid out of band explained: "网格 3：楼栋 329（502 户）无单元数据，单独成格，超上限 2 户"
    for an atom alone, "网格 5（280 户）不足下限 20 户：<why>" otherwise."""
    low, high = band
    over, short = households - high, low - households
    gap = f"超上限 {over} 户" if over > 0 else f"不足下限 {short} 户"
    if kind == "alone":
        return f"网格 {grid}：{text}，{gap}"
    return f"网格 {grid}（{households} 户）{gap}：{text}"
