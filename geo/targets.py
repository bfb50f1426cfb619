"""Coordinate systems that city platforms ask for, and how to reach them from storage.

Stored data is CGCS2000 geographic (EPSG:4490, x = longitude). An export or an OGC API response
may ask for:

* ``4326`` — WGS 84; CGCS2000 and WGS 84 differ by far less than a metre and PROJ treats the
  change as a null transformation, so coordinates are copied;
* ``4490`` — CGCS2000 itself;
* ``gk`` — the CGCS2000 3-degree Gauss–Krüger zone of the data (EPSG:4534–4554, chosen from the
  centre longitude), or one zone given by its code (``4545``);
* ``3857`` — Web Mercator;
* ``gcj02`` / ``bd09`` — the offsets of AMap/Tencent and Baidu (see ``geo/offsets.py`` for their
  accuracy: the forward formulas are the published ones, about a metre against the vendors' own
  conversions). They are not EPSG systems: files carry a WGS 84-based CRS *named* ``GCJ-02`` or
  ``BD-09`` so that a reader (and Wangge's own import) knows the offset is applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo import offsets
from geo.crs import GK_FIRST_EPSG, GK_LAST_EPSG, CRSError, gk_zone_epsg

STORAGE_EPSG = 4490

_OFFSET_WKT = (
    'GEOGCRS["{name}",DATUM["World Geodetic System 1984",'
    'ELLIPSOID["WGS 84",6378137,298.257223563,LENGTHUNIT["metre",1]]],'
    'PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],'
    "CS[ellipsoidal,2],"
    'AXIS["geodetic longitude (Lon)",east,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],'
    'AXIS["geodetic latitude (Lat)",north,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],'
    'REMARK["{remark}"]]'
)
OFFSET_NAMES = {"gcj02": "GCJ-02", "bd09": "BD-09"}
_OFFSET_REMARKS = {
    "gcj02": "WGS 84 with the GCJ-02 obfuscation offset (AMap, Tencent); not an EPSG datum",
    "bd09": "WGS 84 with the BD-09 offset (Baidu); not an EPSG datum",
}


@dataclass(frozen=True)
class Target:
    """A coordinate system to write in.

    ``key`` is short and safe for file names (``EPSG-4545``, ``GCJ-02``); ``label`` says it in
    words; ``offset`` is ``"gcj02"``/``"bd09"`` for the Chinese web-map offsets, else None.
    """

    key: str
    crs: CRS
    label: str
    offset: str | None = None

    @property
    def epsg(self) -> int | None:
        return None if self.offset else self.crs.to_epsg()

    @property
    def geographic(self) -> bool:
        return self.crs.is_geographic

    @property
    def decimals(self) -> int:
        """Decimals that keep text formats well under a centimetre (1e-9° ≈ 0.1 mm)."""
        return 9 if self.geographic else 4


def offset_crs(kind: str) -> CRS:
    """The WGS 84-based CRS named ``GCJ-02`` or ``BD-09`` that offset files declare."""
    return CRS.from_wkt(_OFFSET_WKT.format(name=OFFSET_NAMES[kind], remark=_OFFSET_REMARKS[kind]))


def offset_of(crs: CRS | None) -> str | None:
    """``"gcj02"``/``"bd09"`` when a declared CRS names one of the offsets, else None."""
    if crs is None:
        return None
    name = crs.name.upper().replace("_", "-").replace(" ", "")
    if "GCJ" in name:
        return "gcj02"
    if "BD-09" in name or "BD09" in name or "BAIDU" in name:
        return "bd09"
    return None


TARGET_NAMES = (
    "4326",
    "4490",
    "gk",
    *(str(code) for code in range(GK_FIRST_EPSG, GK_LAST_EPSG + 1)),
    "3857",
    "gcj02",
    "bd09",
)
"""What :func:`resolve` accepts, by its usual spelling (for choices in help texts)."""


def resolve(spec: str, lon: float | None = None) -> Target:
    """The target named by ``spec``; ``gk`` needs ``lon``, the centre longitude of the data.

    Raises CRSError for anything else, naming what is accepted.
    """
    raw = spec.strip().lower().replace("epsg:", "").replace("_", "").replace("-", "")
    if raw in ("gcj02", "bd09"):
        return Target(OFFSET_NAMES[raw], offset_crs(raw), _OFFSET_REMARKS[raw], offset=raw)
    if raw in ("4326", "wgs84", "crs84"):
        epsg = 4326
    elif raw in ("4490", "cgcs2000"):
        epsg = 4490
    elif raw in ("3857", "webmercator"):
        epsg = 3857
    elif raw == "gk":
        if lon is None:
            raise CRSError("gk: 需要数据的经度来选择高斯–克吕格带")
        epsg = gk_zone_epsg(lon)
    elif raw.isdigit() and GK_FIRST_EPSG <= int(raw) <= GK_LAST_EPSG:
        epsg = int(raw)
    else:
        raise CRSError(
            f"不支持的坐标系 {spec!r}: use 4326, 4490, gk (or 4534–4554), 3857, gcj02 or bd09"
        )
    crs = CRS.from_epsg(epsg)
    return Target(f"EPSG-{epsg}", crs, f"EPSG:{epsg} {crs.name}")


def from_storage(geoms: np.ndarray, target: Target) -> np.ndarray:
    """Shapely geometries in EPSG:4490 (x = lon) → the target, x = easting/longitude."""
    if target.offset:
        shifted: np.ndarray = offsets.transform_geometry(geoms, "wgs84", target.offset)
        return shifted
    if target.epsg == STORAGE_EPSG:
        return geoms
    tr = Transformer.from_crs(STORAGE_EPSG, target.crs, always_xy=True)

    def step(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    moved: np.ndarray = shapely.transform(geoms, step)
    return moved


def to_storage(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Geometries declared in ``crs`` (x = easting/longitude) → EPSG:4490.

    A CRS named GCJ-02 or BD-09 has its offset removed.
    """
    kind = offset_of(crs)
    if kind:
        unshifted: np.ndarray = offsets.transform_geometry(geoms, kind, "wgs84")
        return unshifted
    if crs.to_epsg() == STORAGE_EPSG:
        return geoms
    tr = Transformer.from_crs(crs, STORAGE_EPSG, always_xy=True)

    def step(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    moved: np.ndarray = shapely.transform(geoms, step)
    return moved
