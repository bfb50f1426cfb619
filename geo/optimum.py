"""The fewest households any re-balancing that keeps every rule can move: an exact model solved
by OR-Tools CP-SAT, the yardstick for the fast path of ``geo.repair`` and a "best plan" when it
is quick.

The model, over the nodes of the atom graph (atoms and free faces, ``geo.graph``):

* ``x[i, g]``: node ``i`` lies in grid ``g`` (its old grids, and ``spare`` new ones). A node
  holding households lies in exactly one grid; a node holding none (a free face, an empty
  building) in at most one, as ``geo.labelling`` lets a part without households lie apart.
* Band: a used grid holds ``low..high`` households; the households outside the band are a
  slack that the objective weighs above every move, so the model answers even where the band
  cannot be met (then it finds the least violation first).
* Whole atoms: a compound, building or unit entrance is one node, so it moves whole.
* Contiguity over the *fragments* of the nodes (``Links``: a grid is one polygon only when its
  fragments are connected), in two stages. First as lazy cuts (``_Cuts``): the model without
  contiguity is solved, each grid found in pieces cut off (two of its nodes share a grid only
  if a fragment around one's piece does too), and solved again; each optimum bounds every plan
  in one piece, and one in one piece is the optimum. When the cuts stop raising the bound, a
  single-commodity flow per grid takes over (the grid's root sends one unit to every other
  fragment it holds), with the cuts and the bound found kept.
* Objective: Σ households moved, a node's households counted against the grid each of its
  pieces was in (``held``); households in no grid yet (a new entrance's) move for free.

Two reductions keep the model small and the answer exact:

* A known plan moving ``upper`` households (the fast path's) bounds the optimum, so node ``i``
  may join grid ``g`` only when the cheapest path of nodes from ``i`` to ``g``'s old nodes
  (each node moved into ``g`` on the way) or giving up all of ``g``'s old households costs at
  most ``upper``.
* A new grid holds at least ``low`` households, each moved or new (in no grid yet), so
  ``floor((upper + new) / low)`` new grids suffice: any plan with more moves more than
  ``upper``.

``proven`` is True when CP-SAT proved the optimum within the time limit; otherwise ``bound``
is the best lower bound it proved.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from geo.graph import AtomGraph
from geo.labelling import Links, plan_violation

#: New grids the model may open when no known plan bounds the optimum.
SPARE_GRIDS = 2
#: Share of the time limit for the model without contiguity and its cuts (``_Solve.cut``).
CUT_SHARE = 0.5
#: Rounds of cuts without a better bound after which the flow model takes over.
STALL_ROUNDS = 3
#: Cuts per part cut off from its grid: one for each of its heaviest nodes.
CUTS_PER_PART = 5


@dataclass(frozen=True)
class Optimum:
    """Result of ``exact_rebalance``.

    Attributes
    ----------
    labels
        Best labelling found (grid per node; -1: a node without households in no grid), or
        None when the solver found none in time.
    moved
        Households that ``labels`` moves (infinity without labels).
    violation
        Households outside the band under ``labels`` (0 when every grid is in band).
    bound
        Lower bound on the households any in-band plan moves (equal to ``moved`` when
        proven; NaN when no in-band plan was found).
    proven
        Whether ``moved`` is the proven optimum.
    seconds
        Solver wall time.
    """

    labels: np.ndarray | None
    moved: float
    violation: int
    bound: float
    proven: bool
    seconds: float


def held_by_label(households, labels) -> pd.DataFrame:
    """``held`` for a plan where each node lies wholly in its grid of ``labels``."""
    weight = np.asarray(households, dtype=float)
    labels = np.asarray(labels)
    keep = (labels >= 0) & (weight > 0)
    nodes = np.flatnonzero(keep)
    return pd.DataFrame({"node": nodes, "grid": labels[keep], "households": weight[keep]})


def moved_households(households, held: pd.DataFrame, labels) -> float:
    """Households of ``held`` whose grid differs from ``labels``."""
    new = np.asarray(labels)[held["node"].to_numpy()]
    return float(held["households"].to_numpy()[new != held["grid"].to_numpy()].sum())


def exact_rebalance(
    graph: AtomGraph,
    households,
    labels,
    band: tuple[int, int],
    *,
    held: pd.DataFrame | None = None,
    links: Links | None = None,
    hint=None,
    time_limit: float = 120.0,
    workers: int = 2,
    seed: int = 0,
    nearby: bool = False,
) -> Optimum:
    """Re-balance ``labels`` moving the fewest households, by CP-SAT within ``time_limit``.

    Parameters
    ----------
    graph
        Atom graph (``geo.graph.atom_graph``).
    households
        Households per node (free faces 0), whole numbers.
    labels
        Grid per node of the plan being re-balanced (-1: none); its labels are the old grids.
    band
        (low, high) households per grid.
    held
        Households of each node by the grid they were in (columns ``node``, ``grid``,
        ``households``), when an atom's pieces lay in several grids or some of its households
        are new (in no grid yet: moving them costs nothing); default: ``labels``.
    links
        Fragments of the nodes (``Links``); None: contiguity over the graph's nodes.
    hint
        A known labelling (the fast path's) that warm-starts the search and, when in band,
        bounds the optimum (see the module docstring).
    time_limit
        Seconds CP-SAT may search.
    workers
        CP-SAT search workers.
    seed
        CP-SAT random seed.
    nearby
        Only moves to a neighbouring grid (``_nearby``): a much smaller model, whose optimum
        is the fewest households moved by plans where every moved household goes to a grid
        next to its own (or to a new grid next to an over-full one).

    Returns
    -------
    Optimum
    """
    start = time.perf_counter()
    low, high = band
    weight = np.rint(np.asarray(households, dtype=float)).astype(int)
    labels = np.asarray(labels, dtype=int)
    held = held_by_label(weight, labels) if held is None else held
    n = graph.n
    old = sorted(set(labels[labels >= 0].tolist()) | set(held["grid"].tolist()))
    upper = None
    if hint is not None and plan_violation(weight, hint, band) == 0:
        upper = moved_households(weight, held, hint)
    # a node's households that had a grid worker (the rest are new: in no grid yet)
    worker = np.bincount(held["node"].to_numpy(), held["households"].to_numpy(), n)
    new = float(np.maximum(weight - worker, 0).sum())
    spare = SPARE_GRIDS if upper is None else int((upper + new) // low)
    grids = old + list(range(max(old, default=0) + 1, max(old, default=0) + 1 + spare))
    kept = np.zeros((n, len(grids)))
    column = {g: k for k, g in enumerate(grids)}
    np.add.at(
        kept,
        (held["node"].to_numpy(), [column[g] for g in held["grid"]]),
        held["households"].to_numpy(),
    )
    # what a node costs in a grid: its households that had a grid worker, not in that grid
    cost = np.maximum(worker[:, None] - kept, 0)
    allowed = _allowed(graph, weight, labels, kept, cost, grids, old, upper)
    if nearby:
        allowed &= _nearby(graph, weight, labels, kept, grids, old, band)

    model = cp_model.CpModel()
    x = {(i, k): model.new_bool_var(f"x{i}_{k}") for i, k in zip(*np.nonzero(allowed), strict=True)}
    for i in range(n):
        options = [x[i, k] for k in np.flatnonzero(allowed[i])]
        if weight[i] > 0:
            model.add_exactly_one(options)
        elif options:
            model.add_at_most_one(options)
    slack, used_of = [], []
    for k in range(len(grids)):
        members = [(i, x[i, k]) for i in np.flatnonzero(allowed[:, k])]
        used = model.new_bool_var(f"used{k}")
        used_of.append(used)
        for _, var in members:
            model.add_implication(var, used)
        total = sum(int(weight[i]) * var for i, var in members)
        if upper is None:  # the band may be out of reach: its violation is minimised first
            over = model.new_int_var(0, int(weight.sum()), f"over{k}")
            under = model.new_int_var(0, low, f"under{k}")
            slack += [over, under]
        else:  # a known plan keeps the band
            over = under = 0
        model.add(total <= high + over)
        model.add(total + under >= low * used)
    penalty = int(weight.sum()) + 1  # one household out of band weighs more than every move
    moved = sum(int(cost[i, k]) * var for (i, k), var in x.items() if cost[i, k] > 0)
    if upper is not None:
        model.add(moved <= int(upper))
    objective = penalty * sum(slack) + moved
    model.minimize(objective)
    for first, second in itertools.pairwise(used_of[len(old) :]):
        model.add_implication(second, first)  # new grids are alike: use them in order

    fragments = _fragments(graph, links)
    best = None
    if hint is not None:
        best = _holding_parts(fragments, weight, _renamed(np.asarray(hint), old, grids))
    cuts = _Cuts(model, x, grids, allowed, fragments, weight)
    deadline = start + max(time_limit, 0.01)
    solve = _Solve(model, x, grids, n, workers, seed)
    # the model without contiguity, cut by each grid found in pieces: its optimum bounds
    found, bound, proven = solve.cut(cuts, objective, best, upper, start + CUT_SHARE * time_limit)
    best = best if found is None else found
    if not proven and deadline - time.perf_counter() > 0.01:
        # then contiguity as flows (with the cuts found), for a plan in one piece and a proof
        for k, used in enumerate(used_of):
            _contiguity(model, fragments, allowed[:, k], x, k, used, best, grids)
        model.add(objective >= int(np.ceil(bound - 1e-6)))
        found, status = solve.once(best, deadline - time.perf_counter())
        best = best if found is None else found
        proven = status == cp_model.OPTIMAL
        bound = max(bound, solve.solver.best_objective_bound if found is not None else 0.0)
    seconds = time.perf_counter() - start
    if best is None:
        return Optimum(None, float("inf"), -1, float("nan"), False, seconds)
    best = _place_empty(graph, weight, _holding_parts(fragments, weight, best))
    violation = plan_violation(weight, best, band)
    moved_best = moved_households(weight, held, best)
    if violation:
        return Optimum(best, moved_best, violation, float("nan"), False, seconds)
    bound = moved_best if proven else min(float(np.ceil(bound - 1e-6)), moved_best)
    return Optimum(best, moved_best, 0, bound, proven, seconds)


class _Solve:
    """CP-SAT runs of one model, each warm started from the best labelling so far."""

    def __init__(self, model, x, grids: list[int], n: int, workers: int, seed: int):
        self.model, self.x, self.grids, self.n = model, x, grids, n
        self.value = float("inf")  # objective of the best plan in one piece found
        self.solver = cp_model.CpSolver()
        self.solver.parameters.num_workers = workers
        self.solver.parameters.random_seed = seed

    def once(self, hint: np.ndarray | None, seconds: float):
        """(labelling found or None, status) within ``seconds``, hinted by ``hint``."""
        if hint is not None:
            for (i, k), var in self.x.items():
                self.model.add_hint(var, bool(hint[i] == self.grids[k]))
        self.solver.parameters.max_time_in_seconds = max(seconds, 0.01)
        status = self.solver.solve(self.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, status
        found = np.full(self.n, -1)
        for (i, k), var in self.x.items():
            if self.solver.boolean_value(var):
                found[i] = self.grids[k]
        return found, status

    def cut(self, cuts: _Cuts, objective, best, upper, until: float):
        """Solve without contiguity, cut off the grids found in pieces, again, until a plan in
        one piece is optimal, the time ``until`` is reached, or ``STALL_ROUNDS`` rounds bring no
        better bound. Returns (plan in one piece found or None, lower bound, proven)."""
        bound, last, found, flat = 0.0, -1, None, 0
        while (left := until - time.perf_counter()) > 0.01 and flat < STALL_ROUNDS:
            self.model.clear_hints()
            labels, status = self.once(best if found is None else found, left)
            if labels is None:
                break
            bound = max(bound, self.solver.best_objective_bound)
            if status == cp_model.OPTIMAL:  # every plan in one piece moves at least this
                value = round(self.solver.objective_value)
                flat = flat + 1 if value <= last else 0
                last = value
                self.model.add(objective >= value)
                if upper is not None and value >= upper:
                    return found, bound, True  # the known plan is optimal
            if not cuts.add(labels):
                if self.solver.objective_value < self.value:
                    found, self.value = labels, self.solver.objective_value
                if status == cp_model.OPTIMAL:
                    return found, bound, True
                break
        self.model.clear_hints()
        return found, bound, False


class _Cuts:
    """Cuts that keep each grid in one piece: when grid ``k`` holds a part ``S`` apart from
    its other households (say node ``b``), node ``a`` of ``S`` and ``b`` lie in ``k`` together
    only if a fragment next to ``S`` does too: x[a, k] + x[b, k] - 1 <= Σ x[N(S), k]."""

    def __init__(self, model, x, grids, allowed, fragments: _Fragments, weight: np.ndarray):
        self.model, self.x, self.grids, self.allowed = model, x, grids, allowed
        self.fragments, self.weight = fragments, weight
        self.next: list[list[int]] = [[] for _ in fragments.owner]
        for a, b in zip(fragments.u.tolist(), fragments.v.tolist(), strict=True):
            self.next[a].append(b)
            self.next[b].append(a)

    def add(self, labels: np.ndarray) -> int:
        """Add the cuts of every grid of ``labels`` in pieces; how many."""
        owner, weight = self.fragments.owner, self.weight
        label = labels[owner]
        part = _parts(self.fragments, labels)
        count = 0
        for k, g in enumerate(self.grids):
            holding = np.flatnonzero((label == g) & (weight[owner] > 0))
            pieces = pd.Series(weight[owner[holding]], index=part[holding]).groupby(level=0).sum()
            if len(pieces) <= 1:
                continue
            order = pieces.sort_values(ascending=False, kind="stable").index.tolist()
            for p in order:
                inside = set(np.flatnonzero(part == p).tolist())
                near = {int(owner[j]) for f in inside for j in self.next[f] if j not in inside}
                separator = sum(self.x[j, k] for j in sorted(near) if self.allowed[j, k])
                other = owner[holding[part[holding] == (order[1] if p == order[0] else order[0])]]
                b = int(other[np.argmax(weight[other])])
                heads = np.unique(owner[holding[part[holding] == p]])
                for a in heads[np.argsort(-weight[heads], kind="stable")][:CUTS_PER_PART]:
                    pair = self.x[a, k] if a == b else self.x[a, k] + self.x[b, k] - 1
                    self.model.add(pair <= separator)
                    count += 1
        return count


def _renamed(hint: np.ndarray, old: list[int], grids: list[int]) -> np.ndarray:
    """``hint`` with its new grids (labels not in ``old``) under the model's first new labels."""
    fresh = sorted(set(hint[hint >= 0].tolist()) - set(old))
    rename = dict(zip(fresh, grids[len(old) :], strict=False))
    return np.array([rename.get(g, g) for g in hint.tolist()])


@dataclass(frozen=True)
class _Fragments:
    """Fragments of the nodes (``Links``, or the nodes themselves) as edge arrays."""

    owner: np.ndarray
    u: np.ndarray
    v: np.ndarray


def _fragments(graph: AtomGraph, links: Links | None) -> _Fragments:
    if links is None:
        return _Fragments(np.arange(graph.n), graph.u, graph.v)
    return _Fragments(links.owner, links.u, links.v)


def _parts(fragments: _Fragments, labels: np.ndarray) -> np.ndarray:
    """Connected part of each fragment among the fragments of its grid (-1 nodes apart)."""
    owner, u, v = fragments.owner, fragments.u, fragments.v
    same = (labels[owner[u]] == labels[owner[v]]) & (labels[owner[u]] >= 0)
    size = len(owner)
    matrix = coo_array((np.ones(same.sum()), (u[same], v[same])), (size, size))
    return connected_components(matrix, directed=False)[1]


def _holding_parts(fragments: _Fragments, weight: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``labels`` with the nodes without households that lie apart from their grid's
    households in no grid (-1)."""
    owner = fragments.owner
    part = _parts(fragments, labels)
    holding = np.isin(part, part[weight[owner] > 0])
    apart = np.zeros(len(labels), dtype=bool)
    apart[owner[~holding]] = True
    return np.where(apart & (weight == 0), -1, labels)


def _contiguity(model, fragments: _Fragments, allowed, x, k: int, used, hint, grids) -> None:
    """Grid ``k``'s fragments connected: one root sends a unit to each other fragment it holds.
    With a ``hint`` (a known plan), its root and flows for grid ``k`` as a hint."""
    owner, u, v = fragments.owner, fragments.u, fragments.v
    inside = np.flatnonzero(allowed[owner])
    if hint is not None:
        model.add_hint(used, bool((hint == grids[k]).any()))
    if len(inside) <= 1:
        return
    size = len(inside)
    keep = allowed[owner[u]] & allowed[owner[v]] & (owner[u] != owner[v])
    arcs = list(zip(u[keep].tolist(), v[keep].tolist(), strict=True))
    arcs += [(b, a) for a, b in arcs]
    members = None if hint is None else hint == grids[k]
    root_of, flow_of = _tree_flow(owner, arcs, members)
    flow_in: dict[int, list] = {int(f): [] for f in inside}
    flow_out: dict[int, list] = {int(f): [] for f in inside}
    for a, b in arcs:
        f = model.new_int_var(0, size - 1, f"f{k}_{a}_{b}")
        model.add(f <= (size - 1) * x[owner[a], k])
        model.add(f <= (size - 1) * x[owner[b], k])
        flow_out[a].append(f)
        flow_in[b].append(f)
        if hint is not None:
            model.add_hint(f, flow_of.get((a, b), 0))
    roots = []
    for frag in inside.tolist():
        root = model.new_bool_var(f"r{k}_{frag}")
        model.add_implication(root, x[owner[frag], k])
        roots.append(root)
        model.add(sum(flow_in[frag]) - sum(flow_out[frag]) >= x[owner[frag], k] - size * root)
        if hint is not None:
            model.add_hint(root, frag == root_of)
    model.add(sum(roots) == used)


def _tree_flow(owner: np.ndarray, arcs: list[tuple[int, int]], members):
    """Root and arc flows that connect the fragments of the ``members`` nodes: a breadth-first
    tree from the first, each arc carrying the size of the subtree below it."""
    if members is None or not members.any():
        return -1, {}
    inside = set(np.flatnonzero(members[owner]).tolist())
    after: dict[int, list[int]] = {}
    for a, b in arcs:
        if a in inside and b in inside:
            after.setdefault(a, []).append(b)
    root = min(inside)
    parent = {root: root}
    order = [root]
    for f in order:
        for nxt in after.get(f, []):
            if nxt not in parent:
                parent[nxt] = f
                order.append(nxt)
    below = dict.fromkeys(order, 1)
    flow = {}
    for f in reversed(order[1:]):
        below[parent[f]] += below[f]
        flow[parent[f], f] = below[f]
    return root, flow


def _nearby(graph, weight, labels, kept, grids, old, band) -> np.ndarray:
    """(node, grid) pairs of moves to a neighbouring grid: a node may lie in a grid it was in
    or in one next to it (sharing an edge of the graph under ``labels``), and in a new grid
    when it was in an over-full grid or one next to it."""
    high = band[1]
    column = {g: k for k, g in enumerate(grids)}
    home = kept > 0
    home[labels >= 0, [column[g] for g in labels[labels >= 0]]] = True
    a, b = labels[graph.u], labels[graph.v]
    touch = np.eye(len(grids), dtype=bool)
    border = (a >= 0) & (b >= 0) & (a != b)
    ka = np.array([column[g] for g in a[border]], dtype=int)
    kb = np.array([column[g] for g in b[border]], dtype=int)
    touch[ka, kb] = touch[kb, ka] = True
    allowed = (home.astype(int) @ touch.astype(int)) > 0
    totals = weight @ home
    over = (home.astype(int) @ touch[:, totals > high].astype(int)).any(axis=1)
    allowed[:, len(old) :] = over[:, None]
    return allowed


def _allowed(graph, weight, labels, kept, cost, grids, old, upper) -> np.ndarray:
    """(node, grid) pairs the model keeps: within a node's part of the graph, and, with a known
    plan moving ``upper``, those whose cheapest way into the grid costs at most ``upper``."""
    n = graph.n
    matrix = coo_array((np.ones(len(graph.u)), (graph.u, graph.v)), (n, n))
    part = connected_components(matrix, directed=False)[1]
    allowed = np.ones((n, len(grids)), dtype=bool)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    for k, g in enumerate(grids):
        home = (kept[:, k] > 0) | (labels == g)
        if g in old:
            allowed[:, k] = np.isin(part, part[home])
        if upper is None or g not in old:
            continue
        reach = _cheapest(neighbours, cost[:, k], np.flatnonzero(home))
        allowed[:, k] &= (reach <= upper + 1e-9) | (kept[:, k].sum() <= upper + 1e-9)
    return allowed


def _cheapest(neighbours: list[list[int]], cost: np.ndarray, home: np.ndarray) -> np.ndarray:
    """Cheapest Σ ``cost`` of the nodes on a path from each node to a ``home`` node (homes
    cost nothing): what moving a node into a grid, connected to the grid's old nodes, moves."""
    best = np.full(len(cost), np.inf)
    best[home] = 0.0
    heap = [(0.0, int(i)) for i in home]
    while heap:
        d, i = heapq.heappop(heap)
        if d > best[i]:
            continue
        for j in neighbours[i]:
            dj = d + cost[j]
            if dj < best[j]:
                best[j] = dj
                heapq.heappush(heap, (dj, j))
    return best


def _place_empty(graph: AtomGraph, weight: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Give each atom without households and in no grid the grid of a neighbour (breadth first),
    since every atom needs a grid; free faces in no grid stay -1."""
    labels = labels.copy()
    neighbours: list[list[int]] = [[] for _ in range(graph.n)]
    for a, b in zip(graph.u.tolist(), graph.v.tolist(), strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    pending = [i for i in range(graph.atoms) if labels[i] < 0]
    while pending:
        left = []
        for i in pending:
            near = sorted(labels[j] for j in neighbours[i] if labels[j] >= 0)
            if near:
                labels[i] = near[0]
            else:
                left.append(i)
        if len(left) == len(pending):
            break
        pending = left
    return labels
