"""Parsing what residents type as an address: road + door number, or compound + building + unit.

Pure string work, no database: :func:`parse_address` turns "锦江花园３栋２单元", "锦江花园 3-2" or
"碧江路十二号" into an :class:`AddressQuery` (a place name plus the numbers), which ``data/``
matches against roads and compounds with a trigram/edit-distance search.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_CHARS = 100
"""Longer input is refused: no real address is this long."""

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}

_MARKED = re.compile(r"(?P<n>\d+)\s*(?P<mark>号楼|號樓|单元|單元|栋|棟|幢|座|号|號|楼|樓|室|户)")
_NUMBER = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[\s,，、。.·/\\#＃\-—–_()（）]+")


class AddressError(ValueError):
    """The text cannot be an address (empty, too long, or no place name in it)."""


@dataclass(frozen=True)
class AddressQuery:
    """A parsed address.

    ``place`` is the road or compound name as typed (normalised, possibly after a city or
    district name, which the search tolerates by matching the end of it); ``door`` the door number
    (门牌号) after a road; ``building`` the building number (楼栋) in a compound; ``unit`` the
    unit entrance (单元). A number typed without a mark is taken as door/building, the next as
    the unit.
    """

    text: str
    place: str
    door: int | None = None
    building: int | None = None
    unit: int | None = None

    @property
    def first_number(self) -> int | None:
        """The number that names the building, whichever way it was typed."""
        return self.building if self.building is not None else self.door


def _cn_number(word: str) -> int | None:
    """Value of a small Chinese numeral (一 … 九十九), or None."""
    if word == "十":
        return 10
    if "十" in word:
        tens, _, ones = word.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    if len(word) == 1:
        return _CN_DIGITS.get(word)
    return None


_CN_NUMBERED = re.compile(
    r"([零〇一二两三四五六七八九十]{1,3})(?=号|號|栋|棟|幢|座|单元|單元|楼|樓)"
)


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), small Chinese numerals before a mark to
    digits, separators to single spaces, lower case."""
    text = unicodedata.normalize("NFKC", text).strip().lower()

    def _digits(m: re.Match[str]) -> str:
        value = _cn_number(m.group(1))
        return m.group(1) if value is None else str(value)

    text = _CN_NUMBERED.sub(_digits, text)
    return _SEPARATORS.sub(" ", text).strip()


def parse_address(text: str) -> AddressQuery:
    """Parse a resident's address; raise :class:`AddressError` for input that cannot be one.

    Examples
    --------
    >>> parse_address("锦江花园３栋２单元")
    AddressQuery(text='锦江花园3栋2单元', place='锦江花园', door=None, building=3, unit=2)
    >>> parse_address("碧江路 12").door
    12
    """
    if len(text) > MAX_QUERY_CHARS:
        raise AddressError(f"地址过长，最多 {MAX_QUERY_CHARS} 个字")
    norm = normalise(text)
    if not norm:
        raise AddressError("请输入地址")
    first_digit = _NUMBER.search(norm)
    place = (norm[: first_digit.start()] if first_digit else norm).strip()
    place = place.replace(" ", "") if _is_cjk(place) else place
    if not place:
        raise AddressError("请包含路名或小区名")
    rest = norm[first_digit.start() :] if first_digit else ""
    door = building = unit = None
    loose: list[int] = []
    pos = 0
    for m in _MARKED.finditer(rest):
        loose += [int(n) for n in _NUMBER.findall(rest[pos : m.start()])]
        pos = m.end()
        n, mark = int(m.group("n")), m.group("mark")
        if mark in ("号", "號") and door is None and building is None:
            door = n
        elif mark in ("单元", "單元"):
            unit = n
        elif mark in ("栋", "棟", "幢", "座", "号楼", "號樓", "楼", "樓") and building is None:
            building = n
    loose += [int(n) for n in _NUMBER.findall(rest[pos:])]
    for n in loose:
        if door is None and building is None:
            door = n
        elif unit is None:
            unit = n
    return AddressQuery(
        text=norm,
        place=place,
        door=door,
        building=building,
        unit=unit,
    )


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
