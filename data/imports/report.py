"""The import report: one :class:`Issue` per problem, each with a stable machine ``code`` and
a Chinese text naming the file, the row or feature as the user numbers it, and the column.

Rows are numbered as a person finds them: features from 1 in file order, spreadsheet and CSV
rows as Excel shows them (the header is row 1). Frames read by :mod:`data.imports.reading`
carry these numbers in ``_file`` and ``_row``; :func:`issues_at` turns a mask over such a frame
into issues, so no caller counts rows itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

import numpy as np
import pandas as pd

#: At most this many issues of one kind are listed; the count says how many there were.
MAX_REPORTED = 1000
#: Files whose rows are features of a layer (the others are tables).
LAYER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".zip")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Issue:
    """One problem: where (file, row, column), a stable ``code`` and the text in Chinese."""

    file: str
    row: int | None
    column: str | None
    code: str
    problem: str

    def line(self) -> str:
        where = self.file
        if self.row is not None:
            layer = self.file.lower().endswith(LAYER_SUFFIXES)
            where += f" 第 {self.row} 个要素" if layer else f" 第 {self.row} 行"
        if self.column:
            where += f"「{self.column}」"
        return f"{where}：{self.problem}"


class ImportRejected(ValueError):
    """The input has problems; nothing was imported."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        first = issues[0].line() if issues else "无详情"
        super().__init__(f"{len(issues)} 个问题，未导入任何数据；第一个：{first}")


def refuse(label: str, code: str, problem: str, column: str | None = None) -> NoReturn:
    """Reject the whole file for one problem that has no row (unreadable, no CRS, …)."""
    raise ImportRejected([Issue(label, None, column, code, problem)])


def issues_at(
    frame: pd.DataFrame,
    mask: np.ndarray | pd.Series,
    column: str | None,
    code: str,
    problem: str | Callable[[int], str],
) -> list[Issue]:
    """An issue for each row of ``frame`` where ``mask`` holds (the first ``MAX_REPORTED``).

    ``problem`` is the text, or a function of the row's position giving it.
    """
    where = np.flatnonzero(np.asarray(mask, dtype=bool))[:MAX_REPORTED]
    files, rows = frame["_file"].to_numpy(), frame["_row"].to_numpy()
    return [
        Issue(
            str(files[i]),
            int(rows[i]),
            column,
            code,
            problem(int(i)) if callable(problem) else problem,
        )
        for i in where
    ]


KIND_NAMES = {"buildings": "栋楼", "compounds": "个小区", "households": "户"}


@dataclass
class Imported:
    """What an import wrote, and the warnings (``notes``) a planner should read."""

    kind: str
    file: str
    inserted: int = 0
    updated: int = 0
    crs: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        what = KIND_NAMES.get(self.kind, self.kind)
        crs = f"（坐标系按 {self.crs} 读取）" if self.crs else ""
        return f"{self.file}：新增 {self.inserted} {what}，更新 {self.updated} {what}{crs}"
