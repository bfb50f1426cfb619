"""Communities from blocks, street offices from communities.

Blocks are grouped into communities by a balanced weighted k-means (a power diagram of seed
points whose weights are tuned until the communities hold similar numbers of households), each
river side separately so that no community straddles the Jinjiang. Communities are grouped into
street offices the same way, across the river. Boundaries are therefore unions of whole blocks:
they follow roads, the river and the city's edge.
"""

from __future__ import annotations

import numpy as np


def balanced_kmeans(
    rng: np.random.Generator, xy: np.ndarray, weight: np.ndarray, k: int, rounds: int = 60
) -> np.ndarray:
    """Assign points to ``k`` clusters of similar total ``weight`` that are spatially compact.

    Lloyd iterations on a power distance ``|p - c|² - w_c``; each cluster's additive weight
    ``w_c`` grows while the cluster is lighter than average and shrinks while heavier.
    Returns the cluster label of each point (0..k-1, every label used when ``len(xy) >= k``).
    """
    n = len(xy)
    if k <= 1 or n <= k:
        return np.arange(n) % max(k, 1) if n <= k else np.zeros(n, dtype=int)
    w = weight.astype(float) + 1e-3 * max(weight.max(), 1.0)
    first = rng.choice(n, p=w / w.sum())
    seeds = [xy[first]]
    for _ in range(1, k):  # k-means++ seeding, weighted
        d2 = ((xy[:, None, :] - np.array(seeds)[None]) ** 2).sum(-1).min(1)
        p = w * d2
        seeds.append(xy[rng.choice(n, p=p / p.sum())])
    centres = np.array(seeds)
    add = np.zeros(k)
    scale = float(((xy - xy.mean(0)) ** 2).sum(1).mean())
    labels = np.zeros(n, dtype=int)
    for _ in range(rounds):
        d = ((xy[:, None, :] - centres[None]) ** 2).sum(-1) - add[None]
        labels = d.argmin(1)
        totals = np.bincount(labels, weights=w, minlength=k)
        for c in range(k):
            if totals[c] > 0:
                centres[c] = (xy[labels == c] * w[labels == c, None]).sum(0) / totals[c]
            else:  # an empty cluster restarts at the heaviest point of the heaviest cluster
                big = np.flatnonzero(labels == totals.argmax())
                centres[c] = xy[big[w[big].argmax()]]
        add += 0.3 * scale / k * (1.0 - totals / totals.mean())
    d = ((xy[:, None, :] - centres[None]) ** 2).sum(-1) - add[None]
    return d.argmin(1)


def split_counts(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer split of ``total`` proportional to ``shares`` (largest remainder)."""
    raw = total * shares / shares.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def communities_of_blocks(
    rng: np.random.Generator,
    xy: np.ndarray,
    side: np.ndarray,
    households: np.ndarray,
    k: int,
) -> np.ndarray:
    """Community label (0..k-1) of each block, one river side at a time.

    Sides with too few households for a community of their own (and blocks on no side) join
    the nearest community across the water.
    """
    sides = np.unique(side[side >= 0])
    per_side = np.array([households[side == s].sum() for s in sides], dtype=float)
    counts = split_counts(k, per_side) if per_side.sum() > 0 else np.zeros(len(sides), int)
    labels = np.full(len(xy), -1)
    next_label = 0
    for s, c in zip(sides, counts, strict=True):
        if c == 0:
            continue
        members = np.flatnonzero(side == s)
        sub = balanced_kmeans(rng, xy[members], households[members], int(c))
        labels[members] = sub + next_label
        next_label += int(c)
    orphans = np.flatnonzero(labels < 0)
    if len(orphans):
        owned = np.flatnonzero(labels >= 0)
        d = ((xy[orphans, None, :] - xy[None, owned, :]) ** 2).sum(-1)
        labels[orphans] = labels[owned[d.argmin(1)]]
    return labels


def street_names_by_position(
    centroids: np.ndarray, centre: np.ndarray, names: tuple[str, ...]
) -> list[str]:
    """Name street offices by where they lie: the most central is 市中, the others by compass
    bearing (环北 north, 灯塔 east-north-east, 川硐 south-east, 白岩溪 south, 河西 west,
    正光 north-west), matched by the Hungarian method."""
    from scipy.optimize import linear_sum_assignment

    k = len(centroids)
    rel = centroids - centre
    central = int(np.argmin(np.hypot(*rel.T)))
    bearings = {
        "环北街道": 90,
        "灯塔街道": 20,
        "川硐街道": -45,
        "白岩溪街道": -100,
        "河西街道": 190,
        "正光街道": 140,
    }
    out = [""] * k
    out[central] = names[0]
    rest = [i for i in range(k) if i != central]
    pool = [n for n in names[1:]]
    if rest:
        angle = np.degrees(np.arctan2(rel[rest, 1], rel[rest, 0]))
        # Other towns' offices: spread round the compass in the order given.
        want = np.array([bearings.get(n, 360 * i / len(pool)) for i, n in enumerate(pool)])
        diff = np.abs((angle[:, None] - want[None] + 180) % 360 - 180)
        rows, cols = linear_sum_assignment(diff)
        for r, c in zip(rows, cols, strict=True):
            out[rest[r]] = pool[c]
    return out
