"""Every grid made one piece before a re-balancing starts: the parts of a grid are joined
through free faces (faces holding no households) that the grids around can spare, else every
part but the largest becomes a grid of its own.

A plan people live with may hold a grid together only through another grid's free faces or
through an atom whose cells lie apart, which is several pieces down to the cells
(``geo.labelling.Links``); the moves of a re-balancing keep every grid in one piece, and so
start from whole grids.
"""

from __future__ import annotations

from geo.labelling import Labelling


class Joining(Labelling):
    """Grids in several pieces joined or split on a ``Labelling``."""

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
                while (up := parent[f]) is not None and up not in start:
                    f = up
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
