"""Fake but well-formed personal identifiers: mobile numbers and resident ID numbers.

ID numbers follow GB 11643-1999: 6-digit address code (Bijiang's code of the birth year, as
python-stdnum knows them), birth date YYYYMMDD, 3-digit sequence (odd for men, even for women)
and the ISO 7064 MOD 11-2 check character; ``stdnum.cn.ric`` accepts every one.
"""

from __future__ import annotations

import numpy as np

#: Bijiang's address code through time: 铜仁县 until 1987, 铜仁市 until 2011, then 碧江区.
AREA_CODES = ((1987, "522221"), (2011, "522201"), (10_000, "520602"))
"""Bijiang's address codes by birth year: (until this year, code)."""
BEFORE_2011 = {"520603": "522230", **{f"5206{21 + k}": f"52222{2 + k}" for k in range(8)}}
"""Tongren's other districts and counties had 5222xx codes until Tongren became a city in 2011."""
MOBILE_PREFIXES = np.array(
    [
        "134",
        "135",
        "136",
        "137",
        "138",
        "139",
        "147",
        "150",
        "151",
        "152",
        "157",
        "158",
        "159",
        "178",
        "182",
        "183",
        "184",
        "187",
        "188",
        "198",
        "130",
        "131",
        "132",
        "155",
        "156",
        "166",
        "175",
        "176",
        "185",
        "186",
        "133",
        "153",
        "173",
        "177",
        "180",
        "181",
        "189",
        "199",
    ]
)


def area_codes(birth: np.ndarray, area: str = "520602") -> np.ndarray:
    """The address code ``area`` (a district or county of Tongren) had in each birth year
    (datetime64[D]), so that the numbers pass ``stdnum.cn.ric`` with their birth dates."""
    history = (
        AREA_CODES if area == "520602" else ((2011, BEFORE_2011.get(area, area)), (10_000, area))
    )
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    bounds = np.array([end for end, _ in history])
    return np.array([code for _, code in history])[np.searchsorted(bounds, years, "right")]


def id_numbers(
    rng: np.random.Generator, birth: np.ndarray, female: np.ndarray, area: str = "520602"
) -> list[str]:
    """Resident ID numbers for people of ``area`` born on ``birth`` (datetime64[D])."""
    dates = np.datetime_as_string(birth, unit="D")
    ymd = np.char.replace(dates, "-", "")
    seq = rng.integers(0, 500, len(birth)) * 2 + np.where(female, 0, 1)
    first17 = np.char.add(
        np.char.add(area_codes(birth, area), ymd), np.char.zfill(seq.astype(str), 3)
    )
    return np.char.add(first17, check_digits(first17)).tolist()


def check_digits(first17: np.ndarray) -> np.ndarray:
    """The GB 11643 check digit of each 17-digit string (``stdnum.cn.ric``'s, vectorised):
    (1 − 2 · the digits read in base 13) mod 11, 10 written X."""
    digits = first17.astype("<U17").view(np.uint32).reshape(-1, 17).astype(np.int64) - ord("0")
    weights = 2 ** np.arange(16, -1, -1) % 11  # 13 ≡ 2 (mod 11)
    checksum = (1 - 2 * (digits @ weights)) % 11
    return np.array(list("0123456789X"))[checksum]


def mobile_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` 11-digit mainland mobile numbers with real carrier prefixes."""
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)]
    rest = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    return np.char.add(prefix, rest).tolist()


def landline_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Tongren landlines (area code 0856), e.g. "0856-5221234"."""
    body = rng.integers(5_200_000, 5_299_999, n).astype(str)
    return np.char.add("0856-", body).tolist()
