"""Repair band violations of a grid labelling by moving few households across grid boundaries.

Re-balancing a plan people live with (``geo.rebalance``, ``keep_households``) first fixes the
grids out of band one at a time by the sequence of moves that moves the fewest households
(``_Repair.fix``: a best-first search over chains, swaps and a new grid founded by over-full
grids), keeping every grid in one piece down to the cells of its atoms (``Links``); what that
leaves goes to the greedy search below.

Greedy local search on the atom graph, shared by ``geo.divide`` (to finish a search that fell
short) and ``geo.rebalance``:

1. *Single moves*: an atom on the boundary of a violating grid moves to an adjacent grid, or an
   atom of an adjacent grid moves into an under-full grid. The move must lower the total
   violation (Σ households above the ceiling + Σ shortfall below the floor), keep the losing
   grid connected, and is chosen by violation removed per household moved.
2. *Chains*: when no single move helps, an atom moves into a full neighbour while that neighbour
   passes another atom on to a third grid with room; failing that, households are pushed along
   the shortest path of grids to the nearest grid with room (or pulled from the nearest grid
   with a surplus), one boundary atom per hop, kept only if the total violation drops.
3. *Structure*: a grid that still exceeds the ceiling and holds at least twice the floor is split
   in two (``geo.partition``); a grid that is still under the floor is dissolved into its
   neighbours.

Grids are identified by integer labels; a split creates the next unused label. Atoms labelled -1
take no part (other connected parts of the community).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from geo.exhaustive import MAX_NODES, Undecided, exhaustive_partition
from geo.graph import AtomGraph
from geo.partition import feasible_counts, partition

MAX_ROUNDS = 400
#: Longest chain of grids ``shortest_chain`` tries, and states it settles per grid.
CHAIN_HOPS = 6
CHAIN_STATES = 3
#: States the best-first search of a re-balancing settles per grid it fixes.
SEARCH_STATES = 40
#: Rings of neighbouring grids a re-balancing redraws at most around a grid no move fixes, and
#: the connected sets the exhaustive search may try on each.
REDRAW_RINGS = 2
REDRAW_BUDGET = 20_000
#: Smallest single border atoms (holding at least the households needed) a search step tries.
LUMPS = 2


@dataclass(frozen=True)
class Links:
    """Adjacency of the *fragments* of the graph's nodes, for telling whether a grid is one
    polygon: an atom whose cells lie apart (buildings of a compound with another building's
    cell between them) is one node of ``geo.graph`` but several fragments here.

    Attributes
    ----------
    owner
        Node of each fragment; fragment ``i < graph.n`` is a part of node ``i``.
    u, v
        Fragment pairs whose cells share an edge, along edges of the graph's nodes.
    """

    owner: np.ndarray
    u: np.ndarray
    v: np.ndarray


def violation(total: float, band: tuple[int, int]) -> float:
    """Households above the ceiling or short of the floor."""
    low, high = band
    return max(0.0, total - high) + max(0.0, low - total)


def lower_bound(totals, band: tuple[int, int]) -> int:
    """Fewest households any repair must move: Σ violation over grids."""
    return int(sum(violation(t, band) for t in totals))


def smallest_sum_reaching(weights, need: float) -> float:
    """Smallest sum of a subset of ``weights`` (non-negative integers) that is at least
    ``need``; infinity when even all of them fall short."""
    need = max(int(np.ceil(need)), 0)
    weights = [int(w) for w in weights if w > 0]
    if need == 0:
        return 0.0
    if sum(weights) < need:
        return float("inf")
    cap = need + max(weights)  # a smallest subset reaching ``need`` stays under this
    mask = (1 << cap) - 1
    reach = 1  # bit s set: some subset sums to s
    for w in weights:
        reach = (reach | (reach << w)) & mask
    return float(((reach >> need) & -(reach >> need)).bit_length() - 1 + need)


def atom_bound(households, labels, band: tuple[int, int]) -> int:
    """Fewest households any repair moving whole atoms must move (a diagnostic that is at
    least ``lower_bound``).

    An over-full grid loses at least its excess, in whole atoms of its own: the smallest sum
    of its atoms reaching the excess. An under-full grid gains the smallest sum of other
    grids' atoms reaching its shortfall, or gives its own households away. A moved household
    leaves one grid and enters one, so the bound is the larger of the two sums.
    """
    low, high = band
    weight = np.asarray(households)
    labels = np.asarray(labels)
    out = into = 0.0
    for grid in np.unique(labels[labels >= 0]):
        own = weight[labels == grid]
        total = float(own.sum())
        if total > high:
            out += smallest_sum_reaching(own, total - high)
        elif total < low:
            others = weight[(labels >= 0) & (labels != grid)]
            into += min(smallest_sum_reaching(others, low - total), total)
    return int(max(out, into))


class _Repair:
    def __init__(
        self, graph: AtomGraph, households, labels, band, rng, keep_households=False, links=None
    ):
        self.keep_households = keep_households
        self.neighbours: list[set[int]] = [set() for _ in range(graph.n)]
        for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
            self.neighbours[a].add(b)
            self.neighbours[b].add(a)
        # connectivity is walked over fragments (``Links``); without them, over the nodes
        self.owner: list[int] = list(range(graph.n))
        self.links = self.neighbours
        if links is not None:
            self.owner = links.owner.tolist()
            self.links = [set() for _ in self.owner]
            for a, b in zip(links.u.tolist(), links.v.tolist(), strict=True):
                self.links[a].add(b)
                self.links[b].add(a)
        self.fragments: list[list[int]] = [[] for _ in range(graph.n)]
        for fragment, node in enumerate(self.owner):
            self.fragments[node].append(fragment)
        self.graph = graph
        self.weight = np.asarray(households, dtype=float)
        self.labels = np.asarray(labels, dtype=int).copy()
        self.origin = self.labels.copy()
        self.band = band
        self.rng = rng
        self.members: dict[int, set[int]] = defaultdict(set)
        for atom, label in enumerate(self.labels.tolist()):
            if label >= 0:
                self.members[label].add(atom)
        self.totals: dict[int, float] = defaultdict(float)
        for g, m in self.members.items():
            self.totals[g] = float(self.weight[list(m)].sum())
        # a hash of each grid's atoms keys what the search learns about the grid
        self.key = np.random.default_rng(0).integers(1, 2**62, graph.n).tolist()
        self.hash: dict[int, int] = defaultdict(int)
        for g, m in self.members.items():
            for atom in m:
                self.hash[g] ^= self.key[atom]
        self.memo: dict[tuple, object] = {}

    def bad(self) -> list[int]:
        worst = sorted(self.totals, key=lambda g: (-violation(self.totals[g], self.band), g))
        return [g for g in worst if violation(self.totals[g], self.band) > 0]

    def gain(self, atom: int, source: int, target: int) -> float:
        """Violation removed by moving ``atom`` from ``source`` to ``target``."""
        w = self.weight[atom]
        s, t = self.totals[source], self.totals[target]
        before = violation(s, self.band) + violation(t, self.band)
        return before - violation(s - w, self.band) - violation(t + w, self.band)

    def pieces(self, nodes: set[int]) -> int:
        """Number of connected parts of ``nodes`` holding households (parts of free faces only
        do not count: ``geo.polygons`` gives them to a neighbouring grid)."""
        seen: set[int] = set()
        starts = sorted(f for node in nodes for f in self.fragments[node])
        return sum(self._part_holds(f, lambda k: self.owner[k] in nodes, seen) for f in starts)

    def _part_holds(self, start: int, inside, seen: set[int], goal: set[int] | None = None):
        """Walk the part of the fragments ``inside`` around fragment ``start`` (skipped when
        ``seen``), adding it to ``seen``; whether it holds households. With ``goal``, stop
        early (True) once every fragment of ``goal`` is seen."""
        if start in seen:
            return False
        seen.add(start)
        queue = [start]  # breadth first, so that a walk with a ``goal`` nearby ends soon
        held = self.weight[self.owner[start]] > 0
        for current in queue:
            for nxt in self.links[current]:
                if nxt not in seen and inside(nxt):
                    seen.add(nxt)
                    queue.append(nxt)
                    held = held or self.weight[self.owner[nxt]] > 0
            if goal is not None and goal <= seen:
                return True
        return held

    def keeps_connected(self, atom: int, grid: int) -> bool:
        """Whether ``grid`` keeps atoms and is in no more parts without ``atom``."""
        return self.keeps_connected_without({atom}, grid)

    def boundary(self, grid: int) -> Iterator[tuple[int, int]]:
        """(atom of ``grid``, adjacent grid) pairs."""
        for atom in sorted(self.members[grid]):
            for other in sorted({self.labels[n] for n in self.neighbours[atom]} - {grid, -1}):
                yield atom, other

    def move(self, atom: int, target: int) -> None:
        source = self.labels[atom]
        self.members[source].discard(atom)
        self.members[target].add(atom)
        self.totals[source] -= self.weight[atom]
        self.totals[target] += self.weight[atom]
        self.hash[source] ^= self.key[atom]
        self.hash[target] ^= self.key[atom]
        self.labels[atom] = target
        if not self.members[source]:
            del self.members[source], self.totals[source], self.hash[source]

    def shortest_chain(self, grid: int) -> bool:
        """Fix ``grid`` by the chain of moves between adjacent grids that moves the fewest
        households (Dijkstra over grids): an over-full grid passes boundary atoms to a
        neighbour, which passes some on while it would exceed the ceiling, until a grid with room
        takes them; an under-full grid is filled the same way in reverse. Each hop moves one
        atom or a connected bundle of small atoms; every grid on the chain ends in band."""
        low, high = self.band
        over = self.totals[grid] > high
        heap = [(0.0, 0, grid, 0.0, (), ())]
        settled: dict[int, int] = defaultdict(int)
        count = 0
        while heap:
            cost, _, current, carried, came, path = heapq.heappop(heap)
            if current != grid and self._absorbs(current, carried, over):
                if self.commit(path):
                    return True
                continue
            if settled[current] >= CHAIN_STATES or len(path) >= CHAIN_HOPS:
                continue
            settled[current] += 1
            on_path = {grid} | {target for _, target in path}
            on_path |= {self.labels[atoms[0]] for atoms, _ in path}
            amount = self.totals[current] + (carried if over else -carried)
            need = amount - high if over else low - amount
            for other in sorted(self.grid_neighbours(current) - on_path):
                source, target = (current, other) if over else (other, current)
                for atoms in self._bundles(source, target, max(need, 0.0), set(came)):
                    w = float(self.weight[list(atoms)].sum())
                    after = amount - w if over else amount + w
                    if not (low <= after <= high):
                        continue
                    count += 1
                    step = (atoms, other) if over else (atoms, current)
                    heapq.heappush(heap, (cost + w, count, other, w, atoms, (*path, step)))
        return False

    def commit(self, path) -> bool:
        """Make the (atoms, target) moves of ``path`` in turn, each only if its grids stay in
        one piece with the moves before it made (the search checked each against the labels
        it started from); undone and False when one would not."""
        done = []
        for atoms, target in path:
            source = self.labels[atoms[0]]
            if not (
                self.keeps_connected_without(set(atoms), source) and self.joins(set(atoms), target)
            ):
                self.undo(done)
                return False
            step = (atoms, source, target)
            self.apply([step])
            done.append(step)
        return True

    def _bundles(self, source: int, target: int, need: float, skip: set[int]):
        """Atoms of ``source`` next to ``target`` that ``source`` can give without falling
        apart: each single atom, and a bundle grown from the border until it holds ``need``
        (each time the atom nearest the households still missing)."""
        border = sorted(
            atom
            for atom in self.members[source] - skip
            if any(self.labels[n] == target for n in self.neighbours[atom])
        )
        for atom in border:
            if self.keeps_connected_without({atom}, source):
                yield (atom,)
        if need <= 0:
            return
        bundle = self._grow(source, border, need, skip)
        if bundle is not None:
            yield bundle

    def keeps_connected_without(
        self, atoms: set[int], grid: int, gone: frozenset[int] | set[int] = frozenset()
    ) -> bool:
        """Whether ``grid`` keeps atoms and is in no more parts without ``atoms``; with ``gone``,
        whether ``grid`` without ``gone``, known to be one piece, stays one without ``atoms``.

        Only the parts of ``grid`` that ``atoms`` touch can change: what is left of them falls
        into the parts around the nodes next to ``atoms``, so it is one part when a walk from
        one of those nodes meets all of them (usually within a few steps)."""
        members = self.members[grid]
        if len(members) <= len(atoms & members) + len(gone & members):
            return False
        owner = self.owner

        def inside(fragment: int) -> bool:
            node = owner[fragment]
            return node in members and node not in atoms and node not in gone

        near = {n for a in atoms for f in self.fragments[a] for n in self.links[f] if inside(n)}
        seen: set[int] = set()
        after = 0
        for start in sorted(near):
            after += self._part_holds(start, inside, seen, near if not seen else None)
            if after > 1:
                break
        if after <= 1:
            return True
        if gone or self.in_one_piece(grid):
            return False
        touched: set[int] = set()
        starts = sorted(f for a in atoms & members for f in self.fragments[a])
        before = sum(self._part_holds(f, lambda k: owner[k] in members, touched) for f in starts)
        return after <= before

    def in_one_piece(self, grid: int) -> bool:
        """Whether ``grid`` is in at most one part holding households (remembered per set of
        atoms, so a search that keeps testing the same grid walks it once)."""
        key = ("whole", grid, self.hash[grid])
        if key not in self.memo:
            self.memo[key] = self.pieces(self.members[grid]) <= 1
        return bool(self.memo[key])

    def _absorbs(self, grid: int, carried: float, over: bool) -> bool:
        """Whether ``grid`` can take (``over``) or give ``carried`` households and not be worse."""
        low, high = self.band
        after = self.totals[grid] + (carried if over else -carried)
        return violation(after, self.band) <= violation(self.totals[grid], self.band) and (
            after <= high if over else after >= low
        )

    def single(self, grid: int) -> tuple | None:
        """Best single move touching ``grid``: (score, atom, target)."""
        moves = [(atom, other) for atom, other in self.boundary(grid)]
        incoming = [
            (n, grid)
            for atom, other in moves
            for n in self.neighbours[atom]
            if self.labels[n] == other
        ]
        best = None
        for atom, target in moves + incoming:
            source = self.labels[atom]
            g = self.gain(atom, source, target)
            if g <= 1e-9 or not self.keeps_connected(atom, source):
                continue
            key = (g / max(self.weight[atom], 1.0), g, -atom)
            if best is None or key > best[0]:
                best = (key, atom, target)
        return best

    def chain(self, grid: int) -> bool:
        """Move an atom of an over-full ``grid`` into a neighbour that passes one on."""
        before = {g: violation(t, self.band) for g, t in self.totals.items()}
        best = None
        for atom, middle in self.boundary(grid):
            if not self.keeps_connected(atom, grid):
                continue
            self.move(atom, middle)
            for passed, target in self.boundary(middle):
                if passed == atom or target == grid or not self.keeps_connected(passed, middle):
                    continue
                w = self.weight[passed]
                after = (
                    violation(self.totals[grid], self.band)
                    + violation(self.totals[middle] - w, self.band)
                    + violation(self.totals[target] + w, self.band)
                )
                gain = before[grid] + before[middle] + before[target] - after
                moved = self.weight[atom] + w
                key = (gain / max(moved, 1.0), gain, -atom, -passed)
                if gain > 1e-9 and (best is None or key > best[0]):
                    best = (key, atom, middle, passed, target)
            self.move(atom, grid)
        if best is None:
            return False
        _, atom, middle, passed, target = best
        self.move(atom, middle)
        self.move(passed, target)
        return True

    def grid_neighbours(self, grid: int) -> set[int]:
        return {other for _, other in self.boundary(grid)}

    def path(self, grid: int, wanted) -> list[int] | None:
        """Shortest path of adjacent grids from ``grid`` to the nearest one with ``wanted``."""
        parent = {grid: None}
        queue = [grid]
        for current in queue:
            if current != grid and wanted(current):
                path = [current]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            for nxt in sorted(self.grid_neighbours(current)):
                if nxt not in parent:
                    parent[nxt] = current
                    queue.append(nxt)
        return None

    def hop(self, source: int, target: int, need: float) -> int | None:
        """Move the smallest boundary atom of ``source`` next to ``target`` covering ``need``."""
        options = sorted(
            {a for a, other in self.boundary(source) if other == target},
            key=lambda a: (
                self.weight[a] < need,
                self.weight[a] if self.weight[a] >= need else -self.weight[a],
                a,
            ),
        )
        for atom in options:
            if self.keeps_connected(atom, source):
                self.move(atom, target)
                return atom
        return None

    def push(self, grid: int) -> bool:
        """Pass households along a path of grids from an over-full ``grid`` or to an under-full
        one; undone unless the total violation drops."""
        low, high = self.band
        before = sum(violation(t, self.band) for t in self.totals.values())
        over = self.totals[grid] > high
        if over:
            path = self.path(grid, lambda g: self.totals[g] < high)
            need = self.totals[grid] - high
        else:
            path = self.path(grid, lambda g: self.totals[g] > low)
            need = low - self.totals[grid]
            path = None if path is None else path[::-1]
        if path is None:
            return False
        done = []
        for source, target in itertools.pairwise(path):
            atom = self.hop(source, target, need)
            if atom is None:
                break
            done.append((atom, source))
        if sum(violation(t, self.band) for t in self.totals.values()) < before - 1e-9:
            return True
        for atom, source in reversed(done):
            self.move(atom, source)
        return False

    def fix(self, grids: list[int]) -> bool:
        """Bring ``grids`` into band by the sequence of moves that moves the fewest households
        and leaves no other grid further out of band (best-first search, A*, over at most
        ``SEARCH_STATES`` states).

        A step moves a border atom or a connected bundle of small atoms out of an over-full grid
        into a neighbour, or into an under-full grid out of a neighbour; a grid that a step
        pushes out of band is fixed by the next steps. So a sequence may be a chain (A passes
        households to B, which passes as many on to C), a swap (A gives a compound to B and
        takes back a small building, from B or from C) or both. The search is led by the
        households that the grids out of band still have to give or take.
        """
        base = {g: violation(t, self.band) for g, t in self.totals.items()}
        base.update(dict.fromkeys(grids, 0.0))
        fresh = max(self.totals) + 1
        heap: list = [(0.0, 0, 0.0, (), False)]
        seen: set[frozenset] = set()
        count = 0
        while heap and len(seen) < SEARCH_STATES:
            guess, _, cost, steps, exact = heapq.heappop(heap)
            key = frozenset((atom, target) for atoms, _, target in steps for atom in atoms)
            if key in seen:
                continue
            self.apply(steps)
            touched = {*grids} | {g for _, source, target in steps for g in (source, target)}
            out = [g for g in sorted(touched) if self._worse(g, base)]
            if not out:
                return True
            moved = {atom for atoms, _, _ in steps for atom in atoms}
            if not exact:
                # the pushed guess counted households; whole atoms may need more
                left = self._still(out, base, moved)
                if cost + left > guess + 1e-9:
                    self.undo(steps)
                    count += 1
                    heapq.heappush(heap, (cost + left, count, cost, steps, True))
                    continue
            seen.add(key)
            for source, target, atoms in self._steps(out, moved, fresh):
                w = float(self.weight[list(atoms)].sum())
                paid = cost + sum(self.weight[a] for a in atoms if self.origin[a] != target)
                left = self._left(touched | {source, target}, base, source, target, w)
                count += 1
                step = (atoms, source, target)
                heapq.heappush(heap, (paid + left, count, paid, (*steps, step), False))
            self.undo(steps)
        return False

    def apply(self, steps) -> None:
        for atoms, _, target in steps:
            for atom in atoms:
                self.move(atom, target)

    def undo(self, steps) -> None:
        for atoms, source, _ in reversed(steps):
            for atom in atoms:
                self.move(atom, source)

    def _worse(self, grid: int, base: dict[int, float]) -> bool:
        """Whether ``grid`` is further out of band than at the start (``base``)."""
        total = self.totals.get(grid, 0.0)
        return violation(total, self.band) > base.get(grid, 0.0) + 1e-9

    def _left(self, grids, base, source: int, target: int, w: float) -> float:
        """Households still to move after moving ``w`` from ``source`` to ``target``: the
        larger of what over-full grids must give and under-full grids must take (one moved
        household can do both)."""
        high = self.band[1]
        give = take = 0.0
        for g in grids:
            total = self.totals.get(g, 0.0) - (w if g == source else 0.0)
            total += w if g == target else 0.0
            extra = max(0.0, violation(total, self.band) - base.get(g, 0.0))
            if total > high:
                give += extra
            else:
                take += extra
        return max(give, take)

    def _still(self, grids: list[int], base: dict[int, float], moved: set[int]) -> float:
        """Households still to move to bring ``grids`` back to ``base``, in whole atoms: an
        over-full grid gives the smallest sum of its atoms (not ``moved`` yet) that covers its
        excess; the larger of that and the under-full grids' shortfall."""
        high = self.band[1]
        give = take = 0.0
        for g in grids:
            extra = violation(self.totals[g], self.band) - base.get(g, 0.0)
            if self.totals[g] <= high:
                take += extra
                continue
            stay = frozenset(self.members[g] & moved)
            key = ("give", g, self.hash[g], stay, extra)
            if key not in self.memo:
                weights = [self.weight[a] for a in self.members[g] - stay]
                self.memo[key] = smallest_sum_reaching(weights, extra)
            give += self.memo[key]
        return max(give, take)

    def _steps(self, grids: list[int], moved: set[int], fresh: int):
        """(source, target, atoms) moves out of the over-full and into the under-full
        ``grids``; atoms already ``moved`` stay put. An over-full grid may also found the new
        grid ``fresh`` (once), which then takes atoms from its neighbours."""
        low, high = self.band
        for grid in grids:
            total = self.totals.get(grid, 0.0)
            over = total > high
            need = total - high if over else low - total
            for other in sorted(self.grid_neighbours(grid)):
                spare = high - self.totals[other] if over else self.totals[other] - low
                excess = self.totals[other] - high
                needs = [need] + [x for x in (spare, excess) if 0 < x < need]
                source, target = (grid, other) if over else (other, grid)
                for atoms in self._offers(source, target, needs, moved):
                    yield source, target, atoms
            if over and fresh not in self.members:
                for atoms in self._offers(grid, fresh, [need, low], moved):
                    yield grid, fresh, atoms

    def _offers(self, source: int, target: int, needs: list[float], skip: set[int]):
        """Sets of atoms of ``source`` on its border with ``target`` that can change grid
        (``source`` stays in one piece, ``target`` takes them in one piece): for each amount
        in ``needs``, the ``LUMPS`` smallest single atoms holding it and a bundle of smaller
        atoms grown from the border that holds it."""
        stay = frozenset(self.members[source] & skip)
        key = ("offers", source, target, self.hash[source], self.hash[target], stay, *needs)
        if key not in self.memo:
            self.memo[key] = self._fresh_offers(source, target, needs, stay)
        return self.memo[key]

    def _fresh_offers(self, source: int, target: int, needs: list[float], skip: frozenset):
        # a new grid starts on the border with any other grid, to grow from there
        fresh = target not in self.members
        border = sorted(
            atom
            for atom in self.members[source] - skip
            if any(
                self.labels[n] == target or (fresh and self.labels[n] not in (source, -1))
                for n in self.neighbours[atom]
            )
        )
        offers: dict[tuple[int, ...], None] = {}
        for need in needs:
            lumps = sorted(
                (a for a in border if self.weight[a] >= need), key=self.weight.__getitem__
            )
            found = 0
            for atom in lumps:
                if found == LUMPS:
                    break
                if self.keeps_connected_without({atom}, source) and self.joins({atom}, target):
                    offers[(atom,)] = None
                    found += 1
            bundle = self._grow(source, border, need, skip)
            if bundle and self.joins(set(bundle), target):
                offers[bundle] = None
        return list(offers)

    def _grow(self, source: int, border: list[int], need: float, skip: set[int]):
        """Atoms of ``source`` grown from ``border`` (each time the atom nearest the households
        still missing) until they hold ``need``, ``source`` staying in one piece; or None."""
        bundle: set[int] = set()
        total = 0.0
        frontier = set(border)
        # on a grid in one piece, each pick need only keep the rest (one piece so far) whole
        whole = self.in_one_piece(source)
        while total < need and frontier:
            left = need - total
            pick = min(
                sorted(frontier), key=lambda a: (self.weight[a] > left, abs(left - self.weight[a]))
            )
            frontier.discard(pick)
            if not (
                self.keeps_connected_without({pick}, source, bundle)
                if whole
                else self.keeps_connected_without(bundle | {pick}, source)
            ):
                continue
            bundle.add(pick)
            total += self.weight[pick]
            frontier |= (self.neighbours[pick] & self.members[source]) - bundle - skip
        return tuple(sorted(bundle)) if total >= need else None

    def joins(self, atoms: set[int], grid: int) -> bool:
        """Whether ``grid`` takes ``atoms`` without falling into more pieces: every fragment of
        ``atoms`` reaches a part of ``grid`` holding households (not just its free faces)
        through ``grid`` and ``atoms``; a grid without households takes them in one piece."""
        members = self.members.get(grid, set())
        owner = self.owner
        pending = {f for a in atoms for f in self.fragments[a]}
        empty = not any(self.weight[a] > 0 for a in members)

        def inside(fragment: int) -> bool:
            return owner[fragment] in members or owner[fragment] in atoms

        def landed(fragment: int) -> bool:
            return owner[fragment] in members and self.weight[owner[fragment]] > 0

        while pending:
            seen = {min(pending)}
            stack = list(seen)
            while stack and not any(landed(f) for f in stack):
                nxt = [n for f in stack for n in self.links[f] if n not in seen and inside(n)]
                seen.update(nxt)
                stack = nxt
            if not stack and not (empty and pending <= seen):
                return False
            pending -= seen
        return True

    def one_piece(self, grid: int) -> None:
        """Join the parts of ``grid`` through free faces that their grids can spare, else
        make each part but the one with the most households a new grid."""
        while self.pieces(self.members[grid]) > 1 and self._bridge(grid):
            pass
        parts = self._parts(grid)
        if len(parts) > 1:
            parts.sort(key=lambda part: (-float(self.weight[sorted(part)].sum()), min(part)))
            for part in parts[1:]:
                label = max(self.totals) + 1
                for node in sorted(part):
                    self.move(node, label)

    def _parts(self, grid: int) -> list[set[int]]:
        """Nodes of each part of ``grid`` holding households (free faces only in none)."""
        members = self.members[grid]
        seen: set[int] = set()
        parts = []
        for f in sorted(f for node in members for f in self.fragments[node]):
            before = set(seen)
            if self._part_holds(f, lambda k: self.owner[k] in members, seen):
                parts.append({self.owner[k] for k in seen - before})
        return parts

    def _bridge(self, grid: int) -> bool:
        """Give ``grid`` the free faces on a shortest path joining two of its parts, when the
        grids holding them stay in one piece."""
        parts = self._parts(grid)
        start = {f for node in parts[0] for f in self.fragments[node]}
        others = {f for part in parts[1:] for node in part for f in self.fragments[node]}
        parent: dict[int, int | None] = dict.fromkeys(sorted(start))
        queue = list(parent)
        for f in queue:
            if f in others:
                path = []
                while parent[f] is not None and parent[f] not in start:
                    f = parent[f]
                    path.append(self.owner[f])
                return self._give(path, grid)
            for n in sorted(self.links[f]):
                free = self.weight[self.owner[n]] == 0 and self.labels[self.owner[n]] >= 0
                if n not in parent and (free or n in others):
                    parent[n] = f
                    queue.append(n)
        return False

    def _give(self, nodes: list[int], grid: int) -> bool:
        """Move free-face ``nodes`` to ``grid`` if every grid giving them stays in one piece."""
        moving = set(nodes) - self.members[grid]
        donors = {self.labels[n] for n in moving}
        if not moving or not all(
            self.keeps_connected_without(moving & self.members[d], d) for d in donors
        ):
            return False
        for node in sorted(moving):
            self.move(node, grid)
        return True

    def restructure(self, grid: int) -> None:
        """Split an over-full grid (with one or two neighbours when too small to halve) into
        one more grid, or dissolve an under-full one into its neighbours."""
        low, high = self.band
        if self.totals[grid] > high:
            groups = [[grid]] if self.totals[grid] >= 2 * low else []
            near = sorted(self.grid_neighbours(grid), key=lambda g: (-self.totals[g], g))
            groups += [[grid, other] for other in near]
            groups += [[grid, *pair] for pair in itertools.combinations(near, 2)]
            groups = [
                group
                for group in groups
                if sum(self.totals[g] for g in group) >= (len(group) + 1) * low
            ]
            best = None
            for group in groups:
                nodes = np.array(sorted(set().union(*(self.members[g] for g in group))))
                parts = partition(
                    self.graph, self.weight, nodes, self.band, self.rng, counts=[len(group) + 1]
                )
                if parts is None or any(self.pieces(set(part.tolist())) > 1 for part in parts):
                    continue  # (parts are connected nodes, but a node's cells may lie apart)
                names, kept = self.naming(parts, group)
                moved = float(self.weight[nodes].sum()) - kept
                if best is None or moved < best[0]:
                    best = (moved, parts, names)
                if not self.keep_households:
                    break  # a fresh division: the first split found will do
            if best is not None:
                for part, label in zip(best[1], best[2], strict=True):
                    for atom in part:
                        if self.labels[atom] != label:
                            self.move(int(atom), label)
            return
        pending = sorted(self.members[grid])
        while pending:
            left = []
            for atom in pending:
                others = sorted(
                    {self.labels[n] for n in self.neighbours[atom]} - {grid, -1},
                    key=lambda g: (self.totals[g], g),
                )
                # the smallest neighbour that takes it in one piece; a free face holds no one
                fits = [g for g in others if self.weight[atom] == 0 or self.joins({atom}, g)]
                if fits:
                    self.move(int(atom), fits[0])
                else:
                    left.append(atom)
            if len(left) == len(pending):
                break
            pending = left

    def naming(self, parts: list[np.ndarray], labels: list[int]) -> tuple[list[int], float]:
        """Labels for ``parts`` (the old ``labels``, then new ones) that keep the most
        households in their grid (an assignment problem), and the households kept."""
        new = max(self.totals) + 1
        names = [*labels, *range(new, new + max(0, len(parts) - len(labels)))]
        held = np.array(
            [[self.weight[part[self.labels[part] == g]].sum() for g in names] for part in parts]
        )
        rows, cols = linear_sum_assignment(held, maximize=True)
        return [names[c] for c in cols[np.argsort(rows)]], float(held[rows, cols].sum())

    def redraw(self, grid: int) -> None:
        """Draw ``grid`` and the grids around it afresh, one ring of neighbours wider each time
        until a division of them in band is found (the randomised search, then the exhaustive
        one on small regions); of the grid counts that work, the one moving fewest households.

        The last resort of a re-balancing: where compounds are lumpy no chain of moves may
        exist, yet a new boundary between three or four grids does."""
        region = {grid}
        for _ in range(REDRAW_RINGS):
            wider = region | {g for member in region for g in self.grid_neighbours(member)}
            if wider == region:
                return
            region = wider
            group = sorted(region)
            nodes = np.array(sorted(set().union(*(self.members[g] for g in group))))
            best = None
            counts = feasible_counts(float(self.weight[nodes].sum()), self.band)
            for count in sorted(set(counts) & {len(group) - 1, len(group), len(group) + 1}):
                parts = partition(self.graph, self.weight, nodes, self.band, self.rng, [count])
                if parts is None and len(nodes) <= MAX_NODES:
                    try:
                        parts = exhaustive_partition(
                            self.graph, self.weight, nodes, self.band, REDRAW_BUDGET
                        )
                    except Undecided:
                        parts = None
                if parts is None or any(self.pieces(set(part.tolist())) > 1 for part in parts):
                    continue
                names, kept = self.naming(parts, group)
                moved = float(self.weight[nodes].sum()) - kept
                if best is None or moved < best[0]:
                    best = (moved, parts, names)
            if best is not None:
                for part, label in zip(best[1], best[2], strict=True):
                    for node in part.tolist():
                        if self.labels[node] != label:
                            self.move(node, label)
                return

    def rebalance(self) -> np.ndarray:
        """Fix the grids out of band by the cheapest sequence of moves found, one grid at a
        time, the worst first; what no sequence fixes is left to the single moves, chains,
        pushes, splits and dissolves of ``run``."""
        for grid in sorted(self.members):
            self.one_piece(grid)
        for _ in range(MAX_ROUNDS):
            bad = self.bad()
            if not bad or not any(self.fix([g]) for g in bad):
                break
        if self.bad():
            self.run()
        for grid in self.bad():
            if violation(self.totals.get(grid, 0.0), self.band) > 0:
                self.redraw(grid)
        return self.labels

    def run(self) -> np.ndarray:
        stuck: set[int] = set()
        for _ in range(MAX_ROUNDS):
            bad = self.bad()
            if not bad:
                break
            progressed = False
            for grid in bad:
                if self.shortest_chain(grid):
                    progressed = True
                    break
                best = self.single(grid)
                if best is not None:
                    self.move(best[1], best[2])
                    progressed = True
                    break
                early_chain = not self.keep_households and self.totals[grid] > self.band[1]
                if (early_chain and self.chain(grid)) or self.push(grid):
                    progressed = True
                    break
            if progressed:
                continue
            grid = next((g for g in bad if g not in stuck), None)
            if grid is not None:
                stuck.add(grid)
                before = self.labels.copy()
                self.restructure(grid)
                if (self.labels != before).any():
                    continue
            # Re-balancing: a two-grid chain often moves whole compounds, so it comes last.
            chained = self.keep_households and any(
                self.totals[g] > self.band[1] and self.chain(g) for g in bad
            )
            if not chained and grid is None:
                break
        return self.labels


def repair(
    graph: AtomGraph,
    households: np.ndarray,
    labels: np.ndarray,
    band: tuple[int, int],
    rng: np.random.Generator,
    *,
    keep_households: bool = False,
    links: Links | None = None,
) -> np.ndarray:
    """Labels with as few households moved as the greedy search finds; violations may remain.

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per atom.
    labels
        Integer grid label per atom; each grid connected.
    band
        (low, high) households per grid.
    rng
        Random generator, used when a grid has to be split.
    keep_households
        Re-balancing a plan people live with: grids in several pieces are joined or split
        first, the best-first search fixes what it can, the split of last resort tries every
        group and keeps the labelling that moves the fewest households, and two-grid chains
        (which move whole compounds) come last. A fresh division takes the first split found
        and tries chains early, which divides more communities.
    links
        Fragments of the nodes (``Links``), so that a grid counts as one piece only when its
        cells are; None: the graph's nodes.

    Returns
    -------
    numpy.ndarray
        New integer label per atom. Check the totals: a violation remains when no move, chain,
        split or merge the search tried could remove it.
    """
    fixer = _Repair(graph, households, labels, band, rng, keep_households, links)
    return fixer.rebalance() if keep_households else fixer.run()
