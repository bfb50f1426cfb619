"""The last relaxation of a division: a compound (小区) split along its buildings.

A compound at or under the ceiling is one atom (``geo.atoms``): no grid boundary may cross it.
Where a part of the community is proved to have no division in band with its compounds whole,
``split_compounds`` makes the buildings of chosen compounds atoms of their own, so the search
may place them in different grids. The cells stay as they are (a piece keeps its row and its
cell); only the atom of each piece and the graph change, and cutting between two buildings of
the split compound costs ``geo.graph.COMPOUND_COST``, so a grid boundary crosses it only where
it must. ``geo.search`` decides where to split and ``geo.divide`` says so in the exceptions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.atoms import Atoms
from geo.graph import atom_graph
from geo.prepared import Prepared


def split_compounds(prepared: Prepared, compounds: list[int]) -> tuple[Prepared, np.ndarray]:
    """The community with the compound atoms ``compounds`` split into their buildings.

    Parameters
    ----------
    prepared
        Atoms, cells and graph (``geo.prepared.prepare``).
    compounds
        Atom indices of compounds (kind "compound") to split.

    Returns
    -------
    Prepared
        The same pieces and cells; each split compound's first building keeps the compound's
        atom index, its other buildings are new atoms after the old ones.
    numpy.ndarray
        The new node index of each old node (atoms keep theirs, free faces move up by the
        number of new atoms).
    """
    pieces = prepared.atoms.pieces.copy()
    table = prepared.atoms.table.copy()
    rows: list[dict[str, object]] = []
    for atom in compounds:
        mine = pieces.index[pieces["atom"] == atom]
        for k, (building_id, group) in enumerate(
            pieces.loc[mine].groupby("building_id", sort=True)
        ):
            index = atom if k == 0 else len(table) + len(rows)
            pieces.loc[group.index, "atom"] = index
            weight = group["households"].to_numpy() + 1e-9
            row = {
                "households": int(group["households"].sum()),
                "kind": "building",
                "name": f"楼栋 {building_id}",
                "x": float(np.average(group["x"], weights=weight)),
                "y": float(np.average(group["y"], weights=weight)),
            }
            if k == 0:
                table.loc[atom, list(row)] = list(row.values())
            else:
                rows.append(row)
    table = pd.concat([table, pd.DataFrame(rows, columns=table.columns)], ignore_index=True)
    table["households"] = table["households"].astype("int64")
    atoms = Atoms(pieces, table)
    graph = atom_graph(atoms, prepared.cells)
    old = prepared.graph
    node = np.concatenate([np.arange(old.atoms), np.arange(old.n - old.atoms) + graph.atoms])
    return Prepared(atoms, prepared.cells, graph), node
