"""The search for grids in band, part by part, and the plan of least violation where it fails.

``Planner`` labels the nodes of a community's atom graph (``geo.prepared``) with grids:

1. An atom over the ceiling is a grid of its own, flagged.
2. Each connected part of the rest is proved impossible (its total fits no whole number of
   grids, or an atom under the floor cannot share a grid with any neighbour), or else searched.
   A part of more than ``CHUNK_ABOVE`` grids is first cut by METIS (``geo.multilevel``) into
   chunks of about ``CHUNK_GRIDS`` grids, so the search's cost stays bounded per chunk.
3. The search (``geo.partition``) tries the strict band at the count nearest its middle, then a
   band widened by each of ``RELAXATIONS`` and repaired (``geo.greedy``), then every feasible
   count; a small part the randomised searches fail on is searched exhaustively
   (``geo.exhaustive``). A chunk gets one strict search and, failing that, METIS's quick plan
   of least violation; once every chunk is done, ``geo.mend`` draws each grid still out of
   band again with the grids around it (the same searches on a few grids).
4. Where all that fails, the part gets the plan of least violation found (fewest households
   outside the band, then fewest grids outside it), and each of its grids carries the reason
   in Chinese (``geo.reasons``); with ``strict`` the planner refuses instead.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from geo.errors import NoValidDivision
from geo.exhaustive import MAX_NODES, Undecided, exhaustive_partition
from geo.graph import components, connected
from geo.greedy import finish_division
from geo.labelling import in_band, violation
from geo.mend import mend
from geo.multilevel import metis_labels
from geo.partition import feasible_counts, partition
from geo.prepared import Prepared
from geo.reasons import (
    TIMED_OUT,
    crowded_reason,
    exhausted_reason,
    infeasible_reason,
    stranded_reason,
)
from geo.split import split_compounds

#: Widenings of the band (share of each bound) tried before repair when the strict search fails.
RELAXATIONS = (0.1, 0.2, 0.35)
#: Widenings tried for the plan of least violation of a part that has no division in band.
WIDER_RELAXATIONS = (0.2, 0.5, 1.0)
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
#: Seconds each search may take on one group of grids ``mend`` draws again.
MEND_S = 0.5
#: Compounds of a part with no division tried one at a time for a split (then all at once).
SPLIT_TRIES = 4


class Planner:
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
        #: Labels of the grids of a chunk's quick plan of least violation (``chunk``).
        self.quick: set[int] = set()
        #: Connected parts proved to have no division with their compounds whole, and why.
        self.proven: list[tuple[np.ndarray, str]] = []
        #: Compounds split to divide such a part: (name, households, building ids, why).
        self.splits: list[tuple[str, int, list, str]] = []
        #: The current node of each node of the graph first prepared (compounds split since).
        self.node = np.arange(self.graph.n)
        self.timed_out = False

    def out_of_time(self) -> bool:
        """Whether the division's time budget has run out (and remember that it has)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
        return self.timed_out

    def add(self, nodes: np.ndarray, cause: tuple[str, str] | None = None) -> None:
        """Make ``nodes`` a new grid, with why it may break the band."""
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
        work: list[tuple[np.ndarray, str | None, bool]] = []
        for nodes in components(self.graph, alone):
            proof = self.proof(nodes)
            chunks = [nodes] if proof is not None else self.chunks(nodes)
            work += [(chunk, proof, len(chunks) > 1) for chunk in chunks]
        total = len(work)
        chunked = any(item[2] for item in work)
        share = None if self.deadline is None else CHUNK_SHARE * (self.deadline - time.monotonic())
        for done, (nodes, proof, in_chunk) in enumerate(work, start=1):
            if proof is not None:
                self.least(nodes, proof)
                self.proven.append((nodes, proof))
            elif in_chunk:
                self.chunk(nodes, share / total if share else None)
            else:
                self.divide(nodes)
            if progress is not None:
                progress("划分网格", done, total)
        if chunked:
            self.mend()
        for nodes, reason in self.proven:
            if not self.out_of_time():
                self.split(self.node[nodes], reason)

    def chunk(self, nodes: np.ndarray, seconds: float | None) -> None:
        """Grids of a chunk of a large part: the strict search within ``seconds``, else the
        quick plan of least violation (METIS, then ``geo.greedy``), whose grids out of band
        ``mend`` draws again with the grids around them once every chunk is done."""
        deadline = self.deadline
        if seconds is not None:
            deadline = min(self.deadline, time.monotonic() + seconds)
        counts = feasible_counts(self.households[nodes].sum(), self.band)[:1]
        parts = partition(self.graph, self.households, nodes, self.band, self.rng, counts, deadline)
        if parts is None:
            first = int(self.labels.max()) + 1
            self.search_deadline = time.monotonic()
            self.least(nodes, crowded_reason(self.prepared, nodes, self.band))
            self.search_deadline = self.deadline
            self.quick.update(range(first, int(self.labels.max()) + 1))
            return
        for part in parts:
            self.add(part)

    def mend(self) -> None:
        """Draw each grid of a chunk's quick plan still out of band again with the grids around
        it (``geo.mend``); a grid still out of band is explained by the grids around it, or by
        the time budget."""
        band, labels = self.band, self.labels
        fixed = frozenset(self.causes) - self.quick
        labels = mend(self.graph, self.households, labels, band, self.draw, fixed, self.deadline)
        totals = np.bincount(labels[labels >= 0], weights=self.households[labels >= 0])
        for g in np.flatnonzero((totals < band[0]) | (totals > band[1])).tolist():
            nodes = np.flatnonzero(labels == g)
            if g in fixed or len(nodes) == 0:
                continue
            if self.strict:
                raise NoValidDivision(crowded_reason(self.prepared, nodes, band))
            around = np.union1d(nodes, self.next_to(nodes))
            why = TIMED_OUT if self.out_of_time() else crowded_reason(self.prepared, around, band)
            self.causes[g] = ("part", why)
        self.labels = labels

    def split(self, nodes: np.ndarray, reason: str) -> None:
        """Divide a part proved to have no division with its compounds whole by splitting one
        of its compounds along its buildings (each of the heaviest few in turn), else all of
        them (``geo.split``); kept only where every grid of the part is then in band. A split
        that leaves an atom stranded (``geo.reasons.stranded_reason``) is not searched."""
        table, pieces = self.prepared.atoms.table, self.prepared.atoms.pieces
        if not feasible_counts(self.households[nodes].sum(), self.band):
            return
        atoms = nodes[nodes < self.graph.atoms]
        compounds = [
            int(a)
            for a in atoms[np.argsort(-self.households[atoms], kind="stable")]
            if table["kind"].iat[a] == "compound"
            and pieces.loc[pieces["atom"] == a, "building_id"].nunique() > 1
        ]
        choices = [[c] for c in compounds[:SPLIT_TRIES]]
        if len(compounds) > 1:
            choices.append(compounds)
        for choice in choices:
            prepared, node = split_compounds(self.prepared, choice)
            graph = prepared.graph
            inside = np.concatenate([node[nodes], np.arange(self.graph.atoms, graph.atoms)])
            households = graph.weights(prepared.atoms.table["households"].to_numpy())
            # an atom under the floor that still cannot share a grid with any neighbour (none
            # of them was split) leaves no division: no need to search for one
            if not connected(graph, inside) or stranded_reason(prepared, inside, self.band):
                continue
            parts = partition(graph, households, inside, self.band, self.rng, None, self.deadline)
            if parts is None and len(inside) <= MAX_NODES:
                with contextlib.suppress(Undecided):
                    parts = exhaustive_partition(
                        graph, households, inside, self.band, deadline=self.deadline
                    )
            if parts is None:
                continue
            self.splits += [
                (
                    str(table["name"].iat[c]),
                    int(self.households[c]),
                    pieces.loc[pieces["atom"] == c, "building_id"].unique().tolist(),
                    reason,
                )
                for c in choice
            ]
            for g in np.unique(self.labels[nodes]).tolist():
                self.causes.pop(g, None)
            labels = np.full(graph.n, -1)
            labels[node] = self.labels
            labels[inside] = -1
            self.prepared, self.graph, self.households, self.labels = (
                prepared,
                graph,
                households,
                labels,
            )
            self.node = node[self.node]
            for part in parts:
                self.add(part)
            return

    def draw(self, nodes: np.ndarray, counts: list[int]) -> list[np.ndarray] | None:
        """Connected parts of ``nodes`` in band for one of ``counts``, each of three searches
        within ``MEND_S``: the randomised search, a small group exhaustively (which may prove
        there are none), then the band widened and repaired; or None."""
        graph, households, band = self.graph, self.households, self.band

        def soon() -> float:
            ends = time.monotonic() + MEND_S
            return ends if self.deadline is None else min(ends, self.deadline)

        parts = partition(graph, households, nodes, band, self.rng, counts, soon())
        if parts is None and len(nodes) <= MAX_NODES:
            try:
                parts = exhaustive_partition(graph, households, nodes, band, deadline=soon())
                if parts is None:
                    return None
            except Undecided:
                parts = None
        if parts is None:
            self.search_deadline = soon()
            attempts = self.relaxed(nodes, counts=counts)
            self.search_deadline = self.deadline
            parts = next((p for key, p in attempts if key == (0, 0)), None)
        return parts

    def past(self) -> bool:
        """Whether the search under way has used up its time."""
        return self.search_deadline is not None and time.monotonic() > self.search_deadline

    def next_to(self, nodes: np.ndarray) -> np.ndarray:
        """Nodes outside ``nodes`` that share an edge with one of them."""
        inside = np.zeros(self.graph.n, dtype=bool)
        inside[nodes] = True
        border = inside[self.graph.u] != inside[self.graph.v]
        near = np.union1d(self.graph.u[border], self.graph.v[border])
        return near[~inside[near]]

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
            parts, reason, proven = search_exhaustively(
                self.prepared, households, nodes, band, deadline
            )
            if proven:
                self.proven.append((nodes, reason))
        if parts:
            for part in parts:
                self.add(part)
            return
        if self.out_of_time():
            reason = TIMED_OUT
        if self.strict:
            raise NoValidDivision(reason)
        self.least(nodes, reason, tried)

    def relaxed(
        self,
        nodes: np.ndarray,
        shares=RELAXATIONS,
        counts: list[int] | None = None,
        enough: tuple[float, int] = (0, 0),
    ) -> list[tuple[tuple, list]]:
        """Partitions under a band widened by each share, as found and repaired to the strict
        band (``geo.greedy``: its merges may leave more violation than they started with), as
        (violation key, parts); stops at the first whose key is ``enough`` (default: keeps the
        band). ``counts``: the grid counts tried (default: the two nearest the middle of the
        band, ``nearest_counts``: where the nearest fails under a widened band, counts further
        out almost always fail too, each after a whole search's budget)."""
        graph, households, band = self.graph, self.households, self.band
        out = []
        for share in shares:
            if self.out_of_time():
                break
            wide = (band[0] * (1 - share), band[1] * (1 + share))
            total = households[nodes].sum()
            tried = counts or nearest_counts(total, band)
            parts = partition(graph, households, nodes, wide, self.rng, tried, self.search_deadline)
            if parts is None:
                continue
            out.append((self.key(parts), parts))
            if out[-1][0] <= enough:
                break
            labels = np.full(graph.n, -1)
            for k, part in enumerate(parts):
                labels[part] = k
            labels = finish_division(graph, households, labels, band, self.rng)
            fixed = [np.flatnonzero(labels == g) for g in np.unique(labels[nodes])]
            if not all(connected(graph, part) for part in fixed):
                continue
            out.append((self.key(fixed), fixed))
            if out[-1][0] <= enough:
                break
        return out

    def key(self, parts: list[np.ndarray]) -> tuple[float, int]:
        """Households outside the band, then grids outside it: smaller is better."""
        sums = [self.households[p].sum() for p in parts]
        outside = sum(violation(t, self.band) for t in sums)
        return outside, sum(not in_band(t, self.band) for t in sums)

    def least(self, nodes: np.ndarray, reason: str, tried=()) -> None:
        """The plan of least violation of a connected set among ``tried`` (violation key,
        parts), METIS parts for the counts nearest the band, as they are and repaired
        (``geo.greedy``) while there is time, and (for a part with a proof) the widened search;
        the search for candidates stops at one no plan can beat (``unbeatable``)."""
        candidates = list(tried)
        goal = self.unbeatable(nodes)
        if not tried and not self.past() and len(nodes) <= MAX_NODES * 20:
            candidates += self.relaxed(nodes, WIDER_RELAXATIONS, enough=goal)
        for k in nearest_counts(self.households[nodes].sum(), self.band):
            if candidates and min(key for key, _ in candidates) <= goal:
                break
            labels = np.full(self.graph.n, -1)
            parts = self.metis_parts(nodes, k)
            candidates.append((self.key(parts), parts))
            for g, part in enumerate(parts):
                labels[part] = g
            if not self.out_of_time() and not self.past():
                labels = finish_division(self.graph, self.households, labels, self.band, self.rng)
            parts = [np.flatnonzero(labels == g) for g in np.unique(labels[nodes])]
            candidates.append((self.key(parts), parts))
        best = min(candidates, key=lambda item: item[0])[1]
        for part in best:
            self.add(part, ("part", reason))

    def unbeatable(self, nodes: np.ndarray) -> tuple[float, int]:
        """A violation key (``key``) that no plan of ``nodes`` beats. An atom under the floor
        is in a grid alone, short of the floor, or with one of its neighbours at least, over
        the ceiling when it cannot share a grid with any (``geo.reasons.stranded_reason``):
        some grid leaves the lesser of the two outside the band."""
        low, high = self.band
        weight, graph = self.households, self.graph
        inside = np.zeros(graph.n, dtype=bool)
        inside[nodes] = True
        both = inside[graph.u] & inside[graph.v]
        u, v = graph.u[both], graph.v[both]
        lightest = np.full(graph.n, np.inf)
        np.minimum.at(lightest, u, weight[v])
        np.minimum.at(lightest, v, weight[u])
        light = nodes[(nodes < graph.atoms) & (weight[nodes] < low)]
        shortfall = np.minimum(low - weight[light], weight[light] + lightest[light] - high)
        least = float(shortfall.max(initial=0.0))
        return (least, 1) if least > 0 else (0, 0)

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


def nearest_counts(total: float, band: tuple[int, int]) -> list[int]:
    """Grid counts worth trying for ``total`` households: the two feasible counts nearest the
    middle of the band, or when none is feasible the counts on either side of the gap."""
    feasible = feasible_counts(total, band)
    if feasible:
        return feasible[:2]
    below = max(1, int(total // band[1]))
    return sorted({below, below + 1})


def search_exhaustively(
    prepared: Prepared, households, nodes, band, deadline: float | None = None
) -> tuple[list[np.ndarray] | None, str, bool]:
    """The division an exhaustive search finds when the randomised ones found none, or None,
    why, and whether that is a proof that none exists (else the part is too big to tell)."""
    if len(nodes) <= MAX_NODES:
        try:
            parts = exhaustive_partition(prepared.graph, households, nodes, band, deadline=deadline)
        except Undecided:
            parts = []
        if parts is None:
            return None, exhausted_reason(prepared, nodes, band), True
        if parts:
            return parts, "", False
    return None, crowded_reason(prepared, nodes, band), False
