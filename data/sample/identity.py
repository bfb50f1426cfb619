"""Fake but well-formed personal identifiers: mobile numbers and resident ID numbers.

ID numbers follow GB 11643-1999: 6-digit address code (520602, Bijiang), birth date YYYYMMDD,
3-digit sequence (odd for men, even for women) and the ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import numpy as np

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
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


def id_check_char(first17: str) -> str:
    """Check character of an 18-digit resident ID number from its first 17 digits."""
    digits = np.frombuffer(first17.encode("ascii"), dtype=np.uint8) - 48
    return str(ID_CHECK[int(digits @ ID_WEIGHTS) % 11])


def id_number_valid(number: str) -> bool:
    """Whether ``number`` is 18 characters with a correct MOD 11-2 check character."""
    return (
        len(number) == 18
        and number[:17].isdigit()
        and id_check_char(number[:17]) == number[17].upper()
    )


def id_numbers(
    rng: np.random.Generator, birth: np.ndarray, female: np.ndarray, area: str = "520602"
) -> list[str]:
    """Resident ID numbers for people born on ``birth`` (datetime64[D]) in ``area``."""
    n = len(birth)
    dates = np.datetime_as_string(birth, unit="D")
    ymd = np.char.replace(dates, "-", "")
    seq = rng.integers(0, 500, n) * 2 + np.where(female, 0, 1)
    first17 = np.char.add(np.char.add(area, ymd), np.char.zfill(seq.astype(str), 3))
    digits = first17.astype("S17").view(np.uint8).reshape(n, 17).astype(int) - 48
    check = ID_CHECK[(digits @ ID_WEIGHTS) % 11]
    return np.char.add(first17, check).tolist()


def mobile_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` 11-digit mainland mobile numbers with real carrier prefixes."""
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)]
    rest = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    return np.char.add(prefix, rest).tolist()


def landline_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Tongren landlines (area code 0856), e.g. "0856-5221234"."""
    body = rng.integers(5_200_000, 5_299_999, n).astype(str)
    return np.char.add("0856-", body).tolist()
