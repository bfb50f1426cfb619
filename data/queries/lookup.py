"""Residents' lookups: which published grid serves a point, an address or a grid code.

Each lookup is one SQL round trip that returns the whole public answer as JSON text (the "grid
card"), built in PostgreSQL, so the web handler only forwards bytes. Only grids of published
plans are used. Nothing here reads a household's personal data into the answer: the liaison
leaders of a building are found through ``liaison_household``/``household`` but only the
leaders' public staff entries (name, work phone) are returned.

Functions take a psycopg (3) async connection: the app's lookup pool, or one opened by a script.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from geo.address import AddressQuery

ROLE_ORDER = (
    "grid_chief",
    "full_time_worker",
    "part_time_worker",
    "party_group_leader",
    "liaison_leader",
)

# The public answer for the grid ``hit.grid_id`` (and building ``hit.building_id``, if known).
# ``%(geometry)s`` adds the boundary as GeoJSON; coordinates stay EPSG:4490 (≈ WGS84).
_CARD = """
SELECT json_build_object(
  'grid', json_build_object(
    'code', g.code, 'number', g.number, 'name', g.name, 'description', g.description,
    'bbox', json_build_array(
      round(ST_XMin(g.geom)::numeric, 6), round(ST_YMin(g.geom)::numeric, 6),
      round(ST_XMax(g.geom)::numeric, 6), round(ST_YMax(g.geom)::numeric, 6)),
    'community', json_build_object(
      'code', c.code, 'name', c.name,
      'office_address', c.office_address, 'office_phone', c.office_phone),
    'street', json_build_object('code', so.code, 'name', so.name)
  ),
  'staff', COALESCE((
    SELECT json_agg(json_build_object(
        'role', gs.role, 'name', s.name, 'phone', s.work_phone,
        'organisation', s.organisation, 'party_member', s.party_member)
      ORDER BY array_position(%(roles)s::text[], gs.role::text), s.name)
    FROM grid_staff gs JOIN staff s ON s.id = gs.staff_id
    WHERE gs.grid_id = g.id AND gs.role <> 'liaison_leader'), '[]'::json),
  'building', (
    SELECT json_build_object(
        'name', b.name, 'road', b.road, 'door_number', b.door_number, 'compound', cp.name)
    FROM building b LEFT JOIN compound cp ON cp.id = b.compound_id
    WHERE b.id = hit.building_id),
  'liaison_leaders', COALESCE((
    SELECT json_agg(json_build_object('name', s.name, 'phone', s.work_phone) ORDER BY s.name)
    FROM staff s
    WHERE s.role = 'liaison_leader' AND s.id IN (
      SELECT lh.staff_id FROM liaison_household lh
      JOIN household h ON h.id = lh.household_id
      WHERE h.building_id = hit.building_id)), '[]'::json),
  'boundary', CASE WHEN %(geometry)s THEN ST_AsGeoJSON(g.geom, 6, 0)::json END
)::text
FROM hit
JOIN grid g ON g.id = hit.grid_id
JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
JOIN community c ON c.code = p.community_code
JOIN street_office so ON so.code = c.street_code
"""

_POINT = (
    """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490) AS g),
hit AS (
  SELECT g.id AS grid_id,
    (SELECT b.id FROM building b, pt WHERE ST_Intersects(b.geom, pt.g)
     ORDER BY b.id LIMIT 1) AS building_id
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published', pt
  WHERE ST_Intersects(g.geom, pt.g)
  ORDER BY g.code LIMIT 1
)
"""
    + _CARD
)

_NEAREST_COMMUNITY = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490) AS g)
SELECT c.code, c.name, c.office_phone,
  round(ST_Distance(c.geom::geography, pt.g::geography))::int AS distance_m
FROM community c, pt
ORDER BY c.geom <-> pt.g
LIMIT 1
"""

_GRID_CODE = (
    """
WITH hit AS (
  SELECT g.id AS grid_id, NULL::int AS building_id
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
  WHERE g.code = %(code)s
)
"""
    + _CARD
)

# Road and compound names that look like the typed place: a trigram word similarity (the
# name inside a longer text) or an edit distance on the end of the text (a typo, possibly after
# a city or district name). Names are few (hundreds), so scoring them all is cheap.
_PLACES = """
WITH names AS (
  SELECT DISTINCT 'road' AS kind, road AS name FROM building
  UNION ALL
  SELECT DISTINCT 'compound', name FROM compound
)
SELECT kind, name, score FROM (
  SELECT kind, name, greatest(
      word_similarity(name, %(place)s),
      1.0 - levenshtein(name, right(%(place)s, char_length(name)))::float
            / greatest(char_length(name), 1)
    ) AS score
  FROM names
) s
WHERE score >= %(min_score)s
ORDER BY score DESC, char_length(name) DESC, name
LIMIT 5
"""

# The building an address names: by door number on a road, or by building number in a compound;
# a unit number picks the unit's grid in a building split between grids.
_BUILDING = """
WITH cand AS (
  SELECT b.id AS building_id,
    CASE WHEN %(kind)s = 'road' THEN substring(b.door_number FROM '[0-9]+')::int
         ELSE substring(b.name FROM '[0-9]+')::int END AS num
  FROM building b LEFT JOIN compound cp ON cp.id = b.compound_id
  WHERE (%(kind)s = 'road' AND b.road = %(name)s)
     OR (%(kind)s = 'compound' AND cp.name = %(name)s)
)
SELECT cand.building_id, m.grid_id, cand.num IS NOT DISTINCT FROM %(num)s::int AS exact
FROM cand
JOIN grid_member m ON m.building_id = cand.building_id
JOIN grid_plan p ON p.id = m.plan_id AND p.status = 'published'
LEFT JOIN unit_entrance u ON u.id = m.unit_id
ORDER BY
  abs(coalesce(cand.num, 0) - coalesce(%(num)s::int, 0)),
  (u.number IS NOT DISTINCT FROM %(unit)s::int) DESC,
  cand.num, u.number NULLS FIRST
LIMIT 1
"""

# The numbers there are on a road (door numbers) or in a compound (building names), nearest to
# the one asked for first.
_NEAREST_NUMBERS = """
SELECT label FROM (
  SELECT DISTINCT
    CASE WHEN %(kind)s = 'road' THEN b.door_number ELSE b.name END AS label,
    substring(CASE WHEN %(kind)s = 'road' THEN b.door_number ELSE b.name END
              FROM '[0-9]+')::int AS num
  FROM building b LEFT JOIN compound cp ON cp.id = b.compound_id
  WHERE (%(kind)s = 'road' AND b.road = %(name)s)
     OR (%(kind)s = 'compound' AND cp.name = %(name)s)
) s
WHERE num IS NOT NULL
ORDER BY abs(num - %(num)s::int), num
LIMIT %(limit)s
"""

_HIT_BUILDING = (
    """
WITH hit AS (SELECT %(grid_id)s::int AS grid_id, %(building_id)s::int AS building_id)
"""
    + _CARD
)

MIN_PLACE_SCORE = 0.6
SUGGESTIONS = 5
"""How many nearby numbers a lookup of a number that does not exist offers."""


class BadLookup(ValueError):
    """A lookup asked the wrong way (neither or both of an address and a point)."""


class NotFound(LookupError):
    """Nothing public answers the lookup."""


class UnknownAddress(NotFound):
    """No road or compound name matches the address."""


class UnknownGrid(NotFound):
    """No published grid has that code."""


class NotCovered(NotFound):
    """A point outside every published grid; carries the nearest community."""

    def __init__(self, nearest: NearestCommunity) -> None:
        where = "在其范围内" if nearest.distance_m == 0 else distance_zh(nearest.distance_m)
        super().__init__(f"该位置不在任何已发布网格内；最近的社区：{nearest.name}（{where}）")
        self.nearest = nearest


class NoSuchNumber(NotFound):
    """The road or compound exists but not the door or building number asked for; carries the
    nearest numbers there, as addresses to try."""

    def __init__(self, place: str, what: str, suggestions: list[str]) -> None:
        near = f"；附近的有：{'、'.join(suggestions)}" if suggestions else ""
        super().__init__(f"{place}没有{what}{near}")
        self.suggestions = suggestions


def distance_zh(metres: int) -> str:
    """ "约 850 米", "约 1.2 公里": kilometres past 1,000 m."""
    if metres < 1000:
        return f"约 {metres} 米"
    return f"约 {metres / 1000:.1f} 公里"


@dataclass(frozen=True)
class NearestCommunity:
    code: str
    name: str
    office_phone: str | None
    distance_m: int


@dataclass(frozen=True)
class AddressMatch:
    """How an address was matched: the road or compound, and whether the number was exact."""

    kind: str
    name: str
    score: float
    exact: bool


async def card_at_point(
    conn: AsyncConnection, lon: float, lat: float, *, geometry: bool = False
) -> str | None:
    """The grid card (JSON text) of the published grid covering (lon, lat) in EPSG:4490."""
    params = {"lon": lon, "lat": lat, "geometry": geometry, "roles": list(ROLE_ORDER)}
    cur = await conn.execute(_POINT, params, prepare=True)
    row = await cur.fetchone()
    return row[0] if row else None


async def nearest_community(conn: AsyncConnection, lon: float, lat: float) -> NearestCommunity:
    """The community nearest to (lon, lat), with its distance in metres (0 inside it)."""
    cur = await conn.execute(_NEAREST_COMMUNITY, {"lon": lon, "lat": lat})
    row = await cur.fetchone()
    if row is None:
        raise LookupError("no community loaded")
    return NearestCommunity(*row)


async def card_for_grid(conn: AsyncConnection, code: str, *, geometry: bool = True) -> str | None:
    """The grid card of the published grid with ``code``, or None."""
    params = {"code": code, "geometry": geometry, "roles": list(ROLE_ORDER)}
    cur = await conn.execute(_GRID_CODE, params)
    row = await cur.fetchone()
    return row[0] if row else None


async def match_places(
    conn: AsyncConnection, place: str, *, min_score: float = MIN_PLACE_SCORE
) -> list[tuple[str, str, float]]:
    """Roads and compounds whose name matches ``place``, best first: (kind, name, score)."""
    cur = await conn.execute(_PLACES, {"place": place, "min_score": min_score})
    return [(kind, name, float(score)) for kind, name, score in await cur.fetchall()]


async def building_for_address(
    conn: AsyncConnection, query: AddressQuery
) -> tuple[int, int, AddressMatch] | None:
    """The building ``query`` names, its published grid's id, and how it was matched; None if
    no road or compound matches.

    Road names are tried with the door number, compound names with the building number; among
    equally good names an exact number match wins. A number that no matching road or compound
    has is never answered with another building: :class:`NoSuchNumber` names the nearest
    numbers on the best-matching road or compound instead.
    """
    best: tuple[tuple, int, int, AddressMatch] | None = None
    asked: tuple[str, str, int] | None = None  # the best place that lacks the number
    for kind, name, score in await match_places(conn, query.place):
        num = query.door if kind == "road" else query.first_number
        if kind == "road" and num is None:
            num = query.building
        if num is not None and asked is None:
            asked = (kind, name, num)
        cur = await conn.execute(
            _BUILDING, {"kind": kind, "name": name, "num": num, "unit": query.unit}
        )
        row = await cur.fetchone()
        if row is None:
            continue
        building_id, grid_id, exact = row
        exact = bool(exact) and num is not None
        rank = (exact, round(score, 2), kind == "compound" and query.building is not None)
        if best is None or rank > best[0]:
            best = (rank, building_id, grid_id, AddressMatch(kind, name, score, exact))
    if best is None:
        return None
    if asked is not None and not best[3].exact:
        raise await _no_such_number(conn, *asked)
    return best[1:]


async def card_for_address(
    conn: AsyncConnection, query: AddressQuery, *, geometry: bool = False
) -> tuple[str, AddressMatch] | None:
    """The grid card of the building ``query`` names (see :func:`building_for_address`), and
    how it was matched; None if no road or compound matches."""
    found = await building_for_address(conn, query)
    if found is None:
        return None
    building_id, grid_id, match = found
    params = {
        "grid_id": grid_id,
        "building_id": building_id,
        "geometry": geometry,
        "roles": list(ROLE_ORDER),
    }
    cur = await conn.execute(_HIT_BUILDING, params)
    row = await cur.fetchone()
    return (row[0], match) if row else None


async def _no_such_number(conn: AsyncConnection, kind: str, name: str, num: int) -> NoSuchNumber:
    cur = await conn.execute(
        _NEAREST_NUMBERS, {"kind": kind, "name": name, "num": num, "limit": SUGGESTIONS}
    )
    found = [name + label for (label,) in await cur.fetchall()]
    return NoSuchNumber(name, f"{num}号" if kind == "road" else f"{num}栋", found)


_SIGNBOARD = """
WITH gg AS (
  SELECT g.id, g.geom, g.plan_id, ST_Expand(g.geom::box2d, 0.004) AS near
  FROM grid g JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
  WHERE g.code = %(code)s
)
SELECT
  ST_AsBinary(gg.geom),
  (SELECT array_agg(ARRAY[n.number::text, encode(ST_AsBinary(n.geom), 'hex')])
     FROM grid n JOIN grid_plan np ON np.id = n.plan_id AND np.status = 'published'
     WHERE n.geom && gg.near AND n.id <> gg.id),
  (SELECT array_agg(ARRAY[r.name, encode(ST_AsBinary(r.geom), 'hex')])
     FROM road r WHERE r.geom && gg.near),
  (SELECT array_agg(encode(ST_AsBinary(b.geom), 'hex'))
     FROM building b JOIN grid_member m ON m.building_id = b.id AND m.grid_id = gg.id),
  (SELECT array_agg(DISTINCT cp.name ORDER BY cp.name)
     FROM compound cp JOIN building b ON b.compound_id = cp.id
     JOIN grid_member m ON m.building_id = b.id AND m.grid_id = gg.id),
  (SELECT t.households FROM grid_tally t WHERE t.grid_id = gg.id)
FROM gg
"""


@dataclass(frozen=True)
class SignboardData:
    """What a signboard shows besides the card: geometries as WKB (EPSG:4490), the compounds
    in the grid and its number of households (a count only)."""

    grid_wkb: bytes
    neighbours: list[tuple[int, bytes]]
    roads: list[tuple[str, bytes]]
    buildings: list[bytes]
    compounds: list[str]
    households: int | None


async def signboard_data(conn: AsyncConnection, code: str) -> SignboardData | None:
    """Geometries and area facts for the signboard of published grid ``code``, or None."""
    cur = await conn.execute(_SIGNBOARD, {"code": code})
    row = await cur.fetchone()
    if row is None:
        return None
    grid, neighbours, roads, buildings, compounds, households = row
    return SignboardData(
        grid_wkb=bytes(grid),
        neighbours=[(int(n), bytes.fromhex(h)) for n, h in neighbours or []],
        roads=[(name, bytes.fromhex(h)) for name, h in roads or []],
        buildings=[bytes.fromhex(h) for h in buildings or []],
        compounds=list(compounds or []),
        households=households,
    )


async def district_bounds(conn: AsyncConnection) -> tuple[float, float, float, float] | None:
    """(min lon, min lat, max lon, max lat) of all districts, or None when none is loaded."""
    cur = await conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent(geom) AS e FROM district) d WHERE e IS NOT NULL"
    )
    row = await cur.fetchone()
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3])) if row else None


async def built_up_centre(conn: AsyncConnection) -> tuple[float, float] | None:
    """(lon, lat) in EPSG:4490 at the middle of the built-up area: the median of the
    buildings' centres, so that open country at a district's edge does not pull it away."""
    cur = await conn.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ST_X(c)),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY ST_Y(c))"
        " FROM (SELECT ST_Centroid(geom) AS c FROM building) b"
    )
    row = await cur.fetchone()
    return (float(row[0]), float(row[1])) if row and row[0] is not None else None
