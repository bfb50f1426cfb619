"""Why a plan breaks the household band, in Chinese, for the people who read the exceptions.

Each reason names the part of the community at fault (its first atoms and households, see
``describe``) so that staff can find it on the map; ``flag_message`` puts a reason on a grid.
"""

from __future__ import annotations

import numpy as np

from geo.prepared import Prepared

TIMED_OUT = "未在时限内找到满足全部规则的划分"


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


def crowded_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str:
    """Why the searches found no division of a part that may still have one, in Chinese."""
    low, high = band
    return f"{describe(prepared, nodes)}户数过于集中，未能分成每格 {low}–{high} 户的连片网格"


def exhausted_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str:
    """Why a part has no division, proved by the exhaustive search, in Chinese."""
    low, high = band
    return (
        f"{describe(prepared, nodes)}的楼栋无论怎样组合成连片网格，"
        f"都无法使每格在 {low}–{high} 户之间（已穷举），"
        "可考虑调整本社区的每格户数范围"
    )


def homeless_reason(prepared: Prepared, atom: int, band: tuple[int, int]) -> str:
    """Why a grid holding ``atom`` cannot keep the band in any plan (``geo.exhaustive.homeless``),
    in Chinese."""
    low, high = band
    table = prepared.atoms.table
    name, households = table["name"].iat[atom], int(table["households"].iat[atom])
    if households > high:
        return f"{name}（{households} 户）单独超过 {high} 户，且无法再拆分"
    return (
        f"{name}（{households} 户）无论与哪些相邻楼栋组成连片网格，"
        f"户数都无法在 {low}–{high} 户之间（已穷举）"
    )


def stuck_reason(prepared: Prepared, nodes: np.ndarray, band: tuple[int, int]) -> str:
    """Why a re-balancing left a grid out of band that some plan might bring into it, in
    Chinese: the searches found no moves."""
    low, high = band
    return f"{describe(prepared, nodes)}未能通过调整楼栋回到每格 {low}–{high} 户（未证明无解）"


def flag_message(grid: int, households: int, band, kind: str, text: str) -> str:
    """A grid out of band explained: "网格 3：楼栋 329（502 户）无单元数据，单独成格，超上限 2 户"
    for an atom alone, "网格 5（280 户）不足下限 20 户：<why>" otherwise."""
    low, high = band
    over, short = households - high, low - households
    gap = f"超上限 {over} 户" if over > 0 else f"不足下限 {short} 户"
    if kind == "alone":
        return f"网格 {grid}：{text}，{gap}"
    return f"网格 {grid}（{households} 户）{gap}：{text}"
