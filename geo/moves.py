"""The sequences of moves that bring grids into band moving the fewest households.

``MoveSearch.fix`` is a best-first search (A*) over sequences of moves (chains, swaps, a new grid
founded by an over-full grid), led by the households that grids out of band must still give or
take in whole atoms (``smallest_sum_reaching``); ``MoveSearch.shortest_chain`` is the cheaper
Dijkstra over chains of adjacent grids. Every move keeps both grids in one piece
(``geo.labelling``). ``atom_bound`` is what any plan moving whole atoms must move at least.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

import numpy as np

from geo.labelling import Labelling, violation

#: Longest chain of grids ``shortest_chain`` tries, and states it settles per grid.
CHAIN_HOPS = 6
CHAIN_STATES = 3
#: States the best-first search of a re-balancing settles per grid it fixes.
SEARCH_STATES = 40
#: Smallest single border atoms (holding at least the households needed) a search step tries.
LUMPS = 2


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


class MoveSearch(Labelling):
    """Searches for the cheapest moves on a ``Labelling``.

    ``hanging``: a hop of ``shortest_chain`` may also move a border atom that holds its grid
    together with the atoms it cuts off (a re-balancing's grids often hang on one building).
    """

    hanging = False

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
                paid = cost + sum(self.cost[a] for a in atoms if self.origin[a] != target)
                left = self._left(touched | {source, target}, base, source, target, w)
                count += 1
                step = (atoms, source, target)
                heapq.heappush(heap, (paid + left, count, paid, (*steps, step), False))
            self.undo(steps)
        return False

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
        new = sorted(a for a in self.members[source] - skip if self.cost[a] < self.weight[a])
        offers: dict[tuple[int, ...], None] = {}
        for need in needs:
            lumps = sorted(
                (a for a in border if self.weight[a] >= need),
                key=lambda a: (self.cost[a], self.weight[a]),
            )
            found = 0
            for atom in lumps:
                if found == LUMPS:
                    break
                # an atom that holds the rest of its grid together goes with what hangs on it
                lump = {atom} | (self.cut_off(atom, source) - skip)
                if self.keeps_connected_without(lump, source) and self.joins(lump, target):
                    offers[tuple(sorted(lump))] = None
                    found += 1
            bundle = self._grow(source, border, need, skip)
            if bundle and self.joins(set(bundle), target):
                offers[bundle] = None
            if new:
                # new households first (no one's grid worker changes); a new grid may start
                # among them, away from the border
                cheap = self._grow(source, new if fresh else border, need, skip, cheap=True)
                if cheap and self.joins(set(cheap), target):
                    offers[cheap] = None
        return list(offers)

    def _grow(self, source: int, border: list[int], need: float, skip, cheap: bool = False):
        """Atoms of ``source`` grown from ``border`` (each time the atom nearest the households
        still missing; ``cheap``: the one costing least per household, then so) until they hold
        ``need``, ``source`` staying in one piece; or None.

        Grown first without looking at ``source`` and tested once at the end: such a bundle
        may hold an atom that cuts another off only until that one is picked too, which a test
        of each pick refuses. Only when the end test fails is each pick tested."""
        bundle = self._grown(source, border, need, skip, False, cheap)
        if bundle is not None and self.keeps_connected_without(set(bundle), source):
            return bundle
        return self._grown(source, border, need, skip, True, cheap)

    def _grown(self, source: int, border: list[int], need: float, skip, checked: bool, cheap):
        bundle: set[int] = set()
        total = 0.0
        frontier = set(border)
        # on a grid in one piece, each pick need only keep the rest (one piece so far) whole
        whole = checked and self.in_one_piece(source)
        while total < need and frontier:
            left = need - total
            pick = min(
                frontier,
                key=lambda a: (
                    self.cost[a] / max(self.weight[a], 1.0) if cheap else 0.0,
                    self.weight[a] > left,
                    abs(left - self.weight[a]),
                    a,
                ),
            )
            frontier.discard(pick)
            if checked and not (
                self.keeps_connected_without({pick}, source, bundle)
                if whole
                else self.keeps_connected_without(bundle | {pick}, source)
            ):
                continue
            bundle.add(pick)
            total += self.weight[pick]
            frontier |= (self.neighbours[pick] & self.members[source]) - bundle - skip
        return tuple(sorted(bundle)) if total >= need else None

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
                    paid = cost + float(self.cost[list(atoms)].sum())
                    heapq.heappush(heap, (paid, count, other, w, atoms, (*path, step)))
        return False

    def _bundles(self, source: int, target: int, need: float, skip: set[int]):
        """Atoms of ``source`` next to ``target`` that ``source`` can give without falling
        apart: each single atom (with ``hanging``, with what it cuts off), and a bundle grown
        from the border until it holds ``need`` (each time the atom nearest the households still
        missing). Remembered per pair of grids, as the greedy search asks again for the grids it
        could not fix."""
        stay = frozenset(self.members[source] & skip)
        key = ("bundles", source, target, self.hash[source], self.hash[target], stay, need)
        if key not in self.memo:
            border = sorted(
                atom
                for atom in self.members[source] - stay
                if any(self.labels[n] == target for n in self.neighbours[atom])
            )
            found = []
            for atom in border:
                # with ``hanging``, an atom that holds the rest of its grid together goes with
                # what hangs on it
                lump = {atom} | (self.cut_off(atom, source) - stay if self.hanging else set())
                if self.keeps_connected_without(lump, source):
                    found.append(tuple(sorted(lump)))
            bundle = None if need <= 0 else self._grow(source, border, need, stay)
            self.memo[key] = found if bundle is None else [*found, bundle]
        return self.memo[key]

    def _absorbs(self, grid: int, carried: float, over: bool) -> bool:
        """Whether ``grid`` can take (``over``) or give ``carried`` households and not be worse."""
        low, high = self.band
        after = self.totals[grid] + (carried if over else -carried)
        return violation(after, self.band) <= violation(self.totals[grid], self.band) and (
            after <= high if over else after >= low
        )

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
