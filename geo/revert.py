"""Needless moves moved back at the end of a re-balancing: an atom goes back to the grid it
started in wherever no grid ends further out of band and both grids stay in one piece.

The steps of a re-balancing fix one grid at a time, and a later step often makes an earlier
move needless; every household moved back is one that keeps its grid worker.
"""

from __future__ import annotations

import numpy as np

from geo.labelling import Labelling, violation


class Reverting(Labelling):
    """Moves back to the labels a ``Labelling`` started from (``origin``)."""

    def revert(self) -> None:
        """Move atoms back to the grid they started in wherever no grid ends further out of band
        and both grids stay in one piece: the searches above fix one grid at a time, and a later
        step often makes an earlier move needless. The atoms that moved between the same two
        grids go back together first (a bundle may only fit whole), then one at a time, the
        largest first, until nothing more goes back."""
        while True:
            moved = np.flatnonzero((self.labels != self.origin) & (self.weight > 0))
            pairs: dict[tuple[int, int], list[int]] = {}
            for atom in moved.tolist():
                pairs.setdefault((int(self.labels[atom]), int(self.origin[atom])), []).append(atom)
            groups = [group for group in pairs.values() if len(group) > 1]
            groups += [[atom] for atom in sorted(moved.tolist(), key=lambda a: -self.weight[a])]
            if not any(self._back(set(group)) for group in groups):
                return

    def _back(self, atoms: set[int]) -> bool:
        """Move ``atoms`` (all in one grid) back to their grid of origin if that leaves no grid
        further out of band and both grids in one piece."""
        first = min(atoms)
        source, target = int(self.labels[first]), int(self.origin[first])
        if target not in self.members or source == target:
            return False
        if any(self.labels[a] != source or self.origin[a] != target for a in atoms):
            return False
        w = float(self.weight[sorted(atoms)].sum())
        s, t = self.totals[source], self.totals[target]
        before = violation(s, self.band) + violation(t, self.band)
        if violation(s - w, self.band) + violation(t + w, self.band) > before + 1e-9:
            return False
        if not (self.keeps_connected_without(atoms, source) and self.joins(atoms, target)):
            return False
        for atom in sorted(atoms):
            self.move(atom, target)
        return True
