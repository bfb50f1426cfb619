"""Which column of a file is which field: the known Chinese and English headers, the explicit
``表头=field`` mapping, and the typed reading of text cells (whole numbers in range, address
keys)."""

from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from data.imports.report import ImportRejected, Issue, issues_at

BUILDING_COLUMNS = {
    "id": ("id", "building_id", "楼栋编号"),
    "name": ("name", "楼栋", "楼栋名称", "楼号", "名称"),
    "road": ("road", "路名", "街路巷", "道路"),
    "door_number": ("door_number", "door_numbe", "门牌号", "门牌"),
    "kind": ("kind", "类型", "建筑类型"),
    "floors": ("floors", "层数", "楼层数", "总层数"),
    "compound_id": ("compound_id", "compound_i", "小区编号"),
    "community_code": ("community_code", "community_", "社区代码"),
}
COMPOUND_COLUMNS = {
    "id": ("id", "compound_id", "小区编号"),
    "name": ("name", "小区名称", "小区", "名称"),
    "community_code": ("community_code", "community_", "社区代码"),
}
HOUSEHOLD_COLUMNS = {
    "head_name": ("head_name", "户主姓名", "户主", "姓名"),
    "head_phone": ("head_phone", "联系电话", "电话", "手机号", "手机"),
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码"),
    "members": ("members", "人数", "家庭人口", "户内人数", "人口数"),
    "address": ("address", "地址", "住址"),
    "road": ("road", "路名", "街路巷", "道路"),
    "door_number": ("door_number", "门牌号", "门牌"),
    "building": ("building", "楼栋", "楼号", "楼栋名称"),
    "unit": ("unit", "单元", "单元号"),
    "floor": ("floor", "楼层", "层"),
    "room": ("room", "房号", "房间号", "室号"),
}
KINDS = {
    "tower": "tower",
    "高层": "tower",
    "midrise": "midrise",
    "多层": "midrise",
    "house": "house",
    "自建房": "house",
    "平房": "house",
    "other": "other",
    "其他": "other",
}
#: The whole numbers each field accepts (the database's types are narrower than Python's).
RANGES = {
    "id": (1, 2**31 - 1),
    "compound_id": (1, 2**31 - 1),
    "floors": (1, 200),
    "floor": (-5, 200),
    "unit": (1, 99),
    "members": (1, 500),
    "households": (0, 100_000),  # per building, for ``wangge divide``
}


def norm_name(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().lower()


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """``["户主=head_name", ...]`` → {file column: field}."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ImportRejected([Issue("mapping", None, pair, "bad_mapping", "请写成 表头=字段")])
        column, name = pair.split("=", 1)
        out[column.strip()] = name.strip()
    return out


def map_columns(
    columns: list[str], known: dict[str, tuple[str, ...]], mapping: dict[str, str], label: str
) -> tuple[dict[str, str], list[Issue]]:
    """{field: file column} from the explicit mapping, then the known synonyms."""
    issues = [
        Issue(label, None, col, "unknown_field", f"对应关系中的字段 {name!r} 不存在")
        for col, name in mapping.items()
        if name not in known
    ]
    issues += [
        Issue(label, None, col, "unknown_column", "对应关系中的表头不在文件中")
        for col in mapping
        if col not in columns
    ]
    found: dict[str, str] = {name: col for col, name in mapping.items() if col in columns}
    normalised = {norm_name(c): c for c in columns}
    for name, synonyms in known.items():
        if name in found:
            continue
        for syn in synonyms:
            if norm_name(syn) in normalised:
                found[name] = normalised[norm_name(syn)]
                break
    return found, issues


def required_missing(
    label: str, columns: dict[str, str], known: dict[str, tuple[str, ...]], required: tuple
) -> list[Issue]:
    """An issue per required field no column maps to, named by its usual Chinese header."""
    return [
        Issue(label, None, known[name][-1], "missing_column", "缺少必填列")
        for name in required
        if name not in columns
    ]


def text_values(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().replace("", pd.NA)


def address_key(*parts: pd.Series) -> pd.Series:
    """Address parts joined and normalised (NFKC, no spaces) for matching."""
    joined = parts[0].fillna("")
    for part in parts[1:]:
        joined = joined + part.fillna("")
    return joined.map(lambda s: re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)))


def int_column(frame: pd.DataFrame, name: str, column: str) -> tuple[pd.Series, list[Issue]]:
    """Field ``name`` of ``frame`` as whole numbers within ``RANGES[name]`` (empty stays
    empty), and an issue for each cell that is not one."""
    low, high = RANGES[name]
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce")
    given = raw.notna().to_numpy()
    whole = (values.notna() & (values % 1 == 0)).to_numpy()
    inside = (values >= low).to_numpy() & (values <= high).to_numpy()
    issues = issues_at(
        frame, given & ~whole, column, "not_integer", lambda i: f"{raw.iloc[i]!r} 不是整数"
    )
    issues += issues_at(
        frame,
        given & whole & ~inside,
        column,
        "out_of_range",
        lambda i: f"{raw.iloc[i]} 超出范围（应在 {low} 到 {high} 之间）",
    )
    return values.where(whole & inside).astype("Int64"), issues


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(frame: pd.DataFrame, columns: dict[str, str]) -> list[Issue]:
    """An issue for each cell of a mapped field holding control characters (a NUL cannot
    even be stored), rather than dropping them silently. One scan per column first: they
    are rare, and a cell-by-cell search costs seconds on a district's table."""
    issues: list[Issue] = []
    for name, column in columns.items():
        cells = frame[name].fillna("").tolist()
        if CONTROL.search("".join(cells)):
            hidden = [CONTROL.search(cell) is not None for cell in cells]
            issues += issues_at(frame, hidden, column, "control_character", "含有不可见的控制字符")
    return issues


def empty_cells(frame: pd.DataFrame, names: tuple[str, ...], columns: dict[str, str]) -> list:
    """An issue for each empty cell of the fields ``names``."""
    issues: list[Issue] = []
    for name in names:
        issues += issues_at(
            frame, frame[name].isna(), columns.get(name, name), "empty_value", "不能为空"
        )
    return issues


def bad_id_numbers(ids: pd.Series) -> pd.Series:
    """Where an ID number (upper-case text) is given but not one GB 11643 allows, by
    python-stdnum's ``cn.ric``: 17 digits and their check character, a real birth date, and
    an address code that existed in the birth year. Dates and regions are looked up once
    each: ``ric.is_valid`` per row spends about a minute on a district's 170,000 rows."""
    return pd.Series(
        [number is not pd.NA and not _id_number_valid(number) for number in ids.tolist()],
        index=ids.index,
        dtype=bool,
    )


def _id_number_valid(number: str) -> bool:
    return (
        len(number) == 18
        and number[:17].isdigit()
        and ric.calc_check_digit(number) == number[17]
        and _date_known(number[6:14])
        and _region_known(number[:6], number[6:10])
    )


@functools.cache
def _date_known(yyyymmdd: str) -> bool:
    try:
        ric.get_birth_date(f"000000{yyyymmdd}0000")
    except ValidationError:
        return False
    return True


@functools.cache
def _region_known(region: str, year: str) -> bool:
    """Whether ``region`` was an address code in ``year`` (stdnum's table of codes)."""
    try:
        ric.get_birth_place(f"{region}{year}0101000" + "0")
    except ValidationError:
        return False
    return True
