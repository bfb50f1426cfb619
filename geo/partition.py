"""Balanced partition of a connected atom graph into grids within a household band.

Recursive bisection of random spanning trees, in the manner of GerryChain's
``recursive_tree_part`` but with the band as a hard constraint: a set of atoms meant for ``k``
grids is split by cutting one edge of a spanning tree into two parts meant for ``k1`` and
``k - k1`` grids, each holding between ``k1 × low`` and ``k1 × high`` households. The spanning
tree is the minimum spanning tree under randomly perturbed weights that favour short edges
inside compounds and blocks, so its subtrees are compact and tend to end at roads. Among the
admissible cuts of a few trees the one with the lowest boundary cost (sum of the graph's cut
costs, ``geo.graph``) plus an imbalance penalty wins. Lumpy atoms leave trees with few admissible
cuts, so each split also offers cuts grown greedily from a peripheral, leaf or heavy atom
(nearest atom to the growing part's centre first, skipping atoms that would overshoot) whose
complement stays connected, and every split may also peel off a single grid. On a dead end the
search backtracks over distinct splits (the best of each kind first) within a budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from geo.graph import AtomGraph

TREES_PER_SPLIT = 6
#: Admissible cuts of one tree that are scored (a random sample when there are more).
CUTS_PER_TREE = 24
GROWS_PER_SPLIT = 4
LEAF_SEEDS = 2
#: Grows also start at the heaviest atoms, which may have to form a grid of their own.
HEAVY_SEEDS = 2
ATTEMPTS_PER_SPLIT = 4
TREE_BUDGET = 60
#: Splits one search may examine (bounds backtracking).
SPLIT_BUDGET = 40
IMBALANCE_WEIGHT = 4.0
#: Share of the band's width kept clear at either end by the average of a part for several
#: grids, in the splits tried first.
SAFE_SHARE = 0.25


class _Search:
    """State of one partition search: graph arrays, band, random generator and budget."""

    def __init__(self, graph: AtomGraph, households: np.ndarray, band, rng, deadline=None):
        self.graph = graph
        self.deadline = np.inf if deadline is None else deadline
        self.households = np.asarray(households, dtype=float)
        self.low, self.high = band
        self.rng = rng
        self.budget = TREE_BUDGET
        self.splits_left = SPLIT_BUDGET
        # spanning trees prefer short edges that are expensive to cut
        self.tree_base = (graph.length + 1.0) / graph.cost

    def parts(self, nodes: np.ndarray, k: int) -> list[np.ndarray] | None:
        """Split ``nodes`` into ``k`` connected parts in band, or None within the budget."""
        if k == 1:
            return [nodes]
        tried: set[tuple] = set()
        for (a, ka), (b, kb) in self._splits(nodes, k):
            # splits that differ only inside a part tend to fail alike: try distinct ones
            key = (ka, float(self.households[a].sum()))
            if key in tried:
                continue
            tried.add(key)
            left = self.parts(a, ka)
            right = None if left is None else self.parts(b, kb)
            if right is not None:
                return left + right
            if len(tried) == ATTEMPTS_PER_SPLIT:
                break
        return None

    def _subgraph(self, nodes: np.ndarray):
        inside = np.zeros(self.graph.n, dtype=bool)
        inside[nodes] = True
        keep = inside[self.graph.u] & inside[self.graph.v]
        local = np.full(self.graph.n, -1)
        local[nodes] = np.arange(len(nodes))
        return local[self.graph.u[keep]], local[self.graph.v[keep]], keep

    def _splits(self, nodes: np.ndarray, k: int) -> Iterator:
        """Distinct admissible splits of ``nodes``, best (cheapest boundary, balanced) first."""
        if self.splits_left <= 0 or time.monotonic() > self.deadline:
            return iter(())
        self.splits_left -= 1
        u, v, keep = self._subgraph(nodes)
        cost = self.graph.cost[keep]
        weight = self.households[nodes]
        total = weight.sum()
        unit = IMBALANCE_WEIGHT * (_median(cost) if len(cost) else 1.0)
        scored = {}
        batches = [self._grow_cuts(u, v, self.graph.xy[nodes], weight, total, k)]
        for _ in range(TREES_PER_SPLIT):
            if self.budget <= 0:
                break
            self.budget -= 1
            tree_weight = self.tree_base[keep] * self.rng.uniform(1.0, 2.0, size=len(u))
            batches.append(self._cuts(u, v, tree_weight, weight, total, k))
        for batch in batches:
            for part, k_part, source in batch:
                key = (part.tobytes(), k_part)
                if key in scored:
                    continue
                inner = weight[part]
                held = inner.sum()
                if not self._packs(inner, k_part) or not self._packs(weight[~part], k - k_part):
                    continue
                imbalance = abs(held / k_part - total / k) / (total / k)
                score = cost[part[u] != part[v]].sum() + unit * imbalance
                risky = self._risky(held, k_part) or self._risky(total - held, k - k_part)
                scored[key] = ((risky, score), source, part, k_part)
        ranked = sorted(scored.values(), key=lambda item: item[0])
        # the best of each kind of cut comes early: a cheap boundary is no use if it strands a
        # heavy atom with a neighbour it cannot share a grid with
        firsts = {}
        for i, item in enumerate(ranked):
            firsts.setdefault(item[1], i)
        early = sorted(firsts.values())
        order = early + [i for i in range(len(ranked)) if i not in firsts.values()]
        # made as they are tried: the search seldom tries more than a few
        return (
            ((nodes[ranked[i][2]], ranked[i][3]), (nodes[~ranked[i][2]], k - ranked[i][3]))
            for i in order
        )

    def _packs(self, weight: np.ndarray, k_part: int) -> bool:
        """Whether households ``weight`` (whole numbers) for two grids can be split into two
        sums in band at all, ignoring where the atoms lie (a subset sum, on the bits of an
        integer): a part that cannot is dropped, as no connected split of it exists either."""
        if k_part != 2:
            return True
        held = [int(w) for w in weight.tolist() if w > 0]
        total = sum(held)
        low = max(int(np.ceil(self.low)), total - int(self.high))
        high = min(int(self.high), total - int(np.ceil(self.low)))
        if low > high:
            return False
        reach = 1
        for w in held:
            reach |= reach << w
        return (reach >> low) & ((1 << (high - low + 1)) - 1) != 0

    def _risky(self, held: float, k_part: int) -> bool:
        """Whether a part of ``held`` households for ``k_part`` ≥ 2 grids averages outside the
        middle of the band (``SAFE_SHARE`` of its width in from either bound): lumpy atoms
        seldom let such a part split into grids all in band, so these splits come last."""
        margin = SAFE_SHARE * (self.high - self.low)
        return k_part > 1 and not self.low + margin <= held / k_part <= self.high - margin

    def _window(self, k_part: int, k: int, total: float) -> tuple[float, float]:
        """Households a part for ``k_part`` of ``k`` grids may hold, leaving a feasible rest."""
        rest = k - k_part
        return (
            max(k_part * self.low, total - rest * self.high),
            min(k_part * self.high, total - rest * self.low),
        )

    def _grow_cuts(self, u, v, xy, weight, total, k):
        """Cuts grown from peripheral atoms and leaves, as (mask, grids on the mask side)."""
        near = adjacency(len(weight), u, v)
        leaves = np.flatnonzero(np.array([len(n) for n in near]) == 1)
        seeds = []
        for _ in range(GROWS_PER_SPLIT):
            angle = self.rng.uniform(0.0, 2 * np.pi)
            seeds.append(int(np.argmax(xy @ np.array([np.cos(angle), np.sin(angle)]))))
        if len(leaves):
            seeds += self.rng.choice(
                leaves, size=min(LEAF_SEEDS, len(leaves)), replace=False
            ).tolist()
        heavy = np.argsort(-weight, kind="stable")[:HEAVY_SEEDS].tolist()
        x, y, w = xy[:, 0].tolist(), xy[:, 1].tolist(), weight.tolist()
        sets = [set(n) for n in near]
        k_parts = sorted({1, k // 2, k - k // 2})
        windows = [self._window(k_part, k, total) for k_part in k_parts]
        # a seed met twice grows the same parts again: the first kind named wins
        for seed in dict.fromkeys(seeds + heavy):
            grown = _grow(_Growth(seed, sets, x, y, w), windows)
            for k_part, atoms in zip(k_parts, grown, strict=True):
                if atoms is None:
                    continue
                mask = np.zeros(len(weight), dtype=bool)
                mask[atoms] = True
                if _connected(near, ~mask):
                    yield mask, k_part, "heavy" if seed in heavy else "grow"

    def _cuts(self, u, v, tree_weight, weight, total, k):
        """Admissible cuts of one random spanning tree, as (mask, grids on the mask side)."""
        n = len(weight)
        tree = spanning_tree(n, u, v, tree_weight)
        root = int(self.rng.integers(n))
        if tree is None:
            return
        order_list, up = _preorder(tree, root)
        # subtree households and sizes, leaves up (lists: this loop runs per node)
        sums_list, size_list = weight.tolist(), [1] * n
        for node in order_list[:0:-1]:
            sums_list[up[node]] += sums_list[node]
            size_list[up[node]] += size_list[node]
        sums, size, order = np.array(sums_list), np.array(size_list), np.array(order_list)
        position = np.empty(n, dtype=int)
        position[order] = np.arange(n)
        windows = [(kp, *self._window(kp, k, total)) for kp in sorted({1, k // 2, k - k // 2})]
        below, below_sums = order[1:], sums[order[1:]]
        admissible = [
            (node, k_part)
            for k_part, low, high in windows
            for node in below[(below_sums >= low) & (below_sums <= high)].tolist()
        ]
        if len(admissible) > CUTS_PER_TREE:
            pick = self.rng.choice(len(admissible), size=CUTS_PER_TREE, replace=False)
            admissible = [admissible[i] for i in sorted(pick)]
        for node, k_part in admissible:
            mask = np.zeros(n, dtype=bool)
            mask[order[position[node] : position[node] + size[node]]] = True
            yield mask, k_part, "tree"


def spanning_tree(
    n: int, u: np.ndarray, v: np.ndarray, weight: np.ndarray
) -> list[list[int]] | None:
    """Neighbour lists of the minimum spanning tree of the graph of edges (``u``, ``v``) under
    ``weight``, or None when the graph is not connected. Each node lists the nodes it links to
    as ``u`` ascending, then those it links to as ``v`` ascending: the order in which
    ``scipy.sparse.csgraph.depth_first_order`` walks them, so plans stay as they were.

    Kruskal's algorithm on plain lists: most subgraphs the search splits have a few dozen nodes,
    where building scipy.sparse matrices for ``minimum_spanning_tree`` costs far more than the
    tree itself."""
    boss = list(range(n))
    # edges lightest first, walked as two lists in step; the tree's edges are flagged
    by_weight = np.argsort(weight, kind="stable")
    taken = [False] * len(by_weight)
    joins = n - 1
    for i, a, b in zip(
        range(len(taken)), u[by_weight].tolist(), v[by_weight].tolist(), strict=True
    ):
        if not joins:
            break
        while boss[a] != a:
            boss[a] = a = boss[boss[a]]
        while boss[b] != b:
            boss[b] = b = boss[boss[b]]
        if a != b:
            boss[a] = b
            taken[i] = True
            joins -= 1
    if joins:
        return None
    chosen = by_weight[np.array(taken, dtype=bool)]
    tree_u, tree_v = u[chosen], v[chosen]
    near: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(*_lexsorted(tree_u, tree_v), strict=True):
        near[a].append(b)
    for b, a in zip(*_lexsorted(tree_v, tree_u), strict=True):
        near[b].append(a)
    return near


def _lexsorted(first: np.ndarray, second: np.ndarray) -> tuple[list[int], list[int]]:
    """The pairs (``first``, ``second``) in ascending order, as two lists."""
    order = np.lexsort((second, first))
    return first[order].tolist(), second[order].tolist()


def _preorder(tree: list[list[int]], root: int) -> tuple[list[int], list[int]]:
    """Depth-first preorder of a tree's nodes from ``root``, each node's neighbours in list
    order (so each subtree is a run of it), and the parent of each node (``root``'s is -1)."""
    parent = [-1] * len(tree)
    order: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        for nxt in reversed(tree[node]):
            if nxt != parent[node]:
                parent[nxt] = node
                stack.append(nxt)
    return order, parent


def _median(values: np.ndarray) -> float:
    """``numpy.median`` of a non-empty array, by a sort (faster on the small arrays here)."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return float((ordered[middle - 1] + ordered[middle]) / 2)


def adjacency(n: int, u: np.ndarray, v: np.ndarray) -> list[list[int]]:
    """Neighbour lists of an undirected graph given as edge arrays."""
    near: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        near[a].append(b)
        near[b].append(a)
    return near


class _Growth:
    """A connected part growing atom by atom: its atoms, the atoms next to it and its centre
    (weighted by households, plus a tiny weight so that empty faces count)."""

    def __init__(self, seed: int, near: list[set[int]], x, y, w) -> None:
        self.near, self.x, self.y, self.w = near, x, y, w
        self.atoms = [seed]
        self.inside = {seed}
        self.frontier = set(near[seed])
        self.total = w[seed]
        self.mass = w[seed] + 1e-9
        self.mx = (w[seed] + 1e-9) * x[seed]
        self.my = (w[seed] + 1e-9) * y[seed]

    def copy(self) -> _Growth:
        """An independent copy of the part, to grow on differently."""
        other = object.__new__(_Growth)
        other.__dict__.update(self.__dict__)
        other.atoms, other.inside, other.frontier = (
            list(self.atoms),
            set(self.inside),
            set(self.frontier),
        )
        return other


def _grow(growth: _Growth, windows: list[tuple[float, float]]) -> list[list[int] | None]:
    """For each window (low, high): the atoms of a connected part grown from ``growth`` until it
    holds ``low``–``high`` households, each time taking the neighbouring atom nearest the part's
    centre (the lowest index among equally near ones) that does not overshoot, or None.

    The windows share one growth while it takes the same atoms: the nearest atom that fits the
    widest window left is also the nearest for a narrower one, unless it overshoots that one,
    which then grows on alone from a copy of the part so far. One step per atom added: the
    part's state lives in local variables here, written back only for such a copy, and the
    windows are looked at only when the part reaches the lowest floor (``reach``) or the atom
    taken overshoots the lowest ceiling (``tight``) of those still growing."""
    out: list[list[int] | None] = [None] * len(windows)
    active = list(range(len(windows)))
    apart: list[tuple[int, _Growth]] = []
    near, x, y, w = growth.near, growth.x, growth.y, growth.w
    atoms, inside, frontier = growth.atoms, growth.inside, growth.frontier
    total, mass, mx, my = growth.total, growth.mass, growth.mx, growth.my
    reach, top, tight = _limits(windows, active)
    while True:
        if total >= reach:
            for j in [j for j in active if total >= windows[j][0]]:
                out[j] = list(atoms) if total <= windows[j][1] else None
                active.remove(j)
            if not active:
                break
            reach, top, tight = _limits(windows, active)
        room = top - total
        cx, cy = mx / mass, my / mass
        # the nearest atom that fits, by a plain loop: no (distance, atom) tuple per neighbour
        best, pick = np.inf, -1
        for n in frontier:
            if w[n] <= room:
                d = (x[n] - cx) ** 2 + (y[n] - cy) ** 2
                if d <= best and (d < best or n < pick):
                    best, pick = d, n
        if pick < 0:
            break
        held = w[pick]
        if held > tight - total:
            for j in [j for j in active if held > windows[j][1] - total]:
                growth.total, growth.mass, growth.mx, growth.my = total, mass, mx, my
                apart.append((j, growth.copy()))
                active.remove(j)
            reach, top, tight = _limits(windows, active)
        atoms.append(pick)
        inside.add(pick)
        frontier.discard(pick)
        frontier |= near[pick] - inside
        total += held
        mass += held + 1e-9
        mx += (held + 1e-9) * x[pick]
        my += (held + 1e-9) * y[pick]
    for j, alone in apart:
        out[j] = _grow(alone, [windows[j]])[0]
    return out


def _limits(windows: list[tuple[float, float]], active: list[int]) -> tuple[float, float, float]:
    """The lowest floor, the highest ceiling and the lowest ceiling of the ``active`` windows."""
    lows = [windows[j][0] for j in active]
    highs = [windows[j][1] for j in active]
    return min(lows), max(highs), min(highs)


def _connected(near: list[list[int]], mask: np.ndarray) -> bool:
    """Whether the nodes under ``mask`` form one connected part of the graph ``near``."""
    left = mask.tolist()  # nodes not reached yet
    count = left.count(True)
    if not count:
        return False
    start = left.index(True)
    left[start] = False
    stack = [start]
    reached = 1
    while stack:
        for n in near[stack.pop()]:
            if left[n]:
                left[n] = False
                reached += 1
                stack.append(n)
    return reached == count


def feasible_counts(total: float, band: tuple[int, int]) -> list[int]:
    """Grid counts ``k`` with ``k × low ≤ total ≤ k × high``, the mid-band count first."""
    low, high = band
    counts = range(int(np.ceil(total / high)), int(total // low) + 1)
    middle = total / ((low + high) / 2)
    return sorted((k for k in counts if k >= 1), key=lambda k: (abs(k - middle), k))


def partition(
    graph: AtomGraph,
    households: np.ndarray,
    nodes: np.ndarray,
    band: tuple[int, int],
    rng: np.random.Generator,
    counts: list[int] | None = None,
    deadline: float | None = None,
) -> list[np.ndarray] | None:
    """Connected parts of ``nodes`` (a connected set of atoms), each in the household band.

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per atom.
    nodes
        Atom indices to partition; connected in ``graph``.
    band
        (low, high) households per grid.
    rng
        Random generator (``numpy.random.default_rng(seed)``).
    counts
        Numbers of parts to try, in order; default ``feasible_counts``.
    deadline
        ``time.monotonic()`` after which the search gives up (returns None); None: no limit.

    Returns
    -------
    list of numpy.ndarray or None
        Atom indices of each part, or None when no partition was found.
    """
    total = float(np.asarray(households)[nodes].sum())
    for k in feasible_counts(total, band) if counts is None else counts:
        parts = _Search(graph, households, band, rng, deadline).parts(np.asarray(nodes), k)
        if parts is not None:
            return parts
    return None
