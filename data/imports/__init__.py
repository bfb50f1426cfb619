"""Import what communities bring: building and compound layers, and the household 一张表.

One core behind ``wangge import`` and ``POST /api/v1/import/...``. Everything is read and checked
first; any problem ends in :class:`ImportRejected` carrying a report (file, row, column, a
stable code and the problem in Chinese) and nothing is written. The writes run on the caller's
connection, inside the caller's transaction, so the import commits as a whole or not at all.

Modules: ``report`` (issues, the result), ``limits`` (upload limits), ``reading`` (files into
frames), ``columns`` (headers and typed cells), ``geometry`` and ``location`` (shapes and
where they lie), ``layers`` (buildings, compounds), ``households`` (the 一张表).
"""

from data.imports.columns import parse_mapping
from data.imports.households import import_households
from data.imports.layers import import_buildings, import_compounds
from data.imports.limits import InputLimits
from data.imports.reading import read_table, read_vector
from data.imports.report import MAX_REPORTED, Imported, ImportRejected, Issue

__all__ = [
    "MAX_REPORTED",
    "ImportRejected",
    "Imported",
    "InputLimits",
    "Issue",
    "import_buildings",
    "import_compounds",
    "import_households",
    "parse_mapping",
    "read_table",
    "read_vector",
]
