"""The layers Wangge hands to city platforms, as SQL over the tables.

Each layer is a SELECT whose columns are its attributes plus ``geom`` (EPSG:4490). Public layers
(published grids with their staff's names and work phones, communities, street offices) feed the
exports and the OGC API; ``compounds`` and ``buildings`` leave only to staff; ``households`` is
personal data: staff only, and every export is written to the audit log. Sensitive care tags
(``protected.household_care``) are in no layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Access(StrEnum):
    public = "public"
    staff = "staff"  # an authorised account (or an operator on the command line)
    personal = "personal"  # staff, and every export is audited


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # Chinese label, for mapping files and HTML pages
    kind: str = "string"  # string | integer


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    access: Access
    id_field: str
    fields: tuple[Field, ...]
    select: str  # SELECT ... , geom FROM ...; may use :prefix (an admin code prefix or '')
    description: str = ""

    @property
    def public(self) -> bool:
        return self.access is Access.public


GRIDS = Layer(
    "grids",
    "网格 (已发布)",
    Access.public,
    "code",
    (
        Field("code", "网格编码"),
        Field("number", "网格序号", "integer"),
        Field("name", "网格名称"),
        Field("community_code", "社区代码"),
        Field("community", "社区"),
        Field("street", "街道"),
        Field("households", "户数", "integer"),
        Field("plan_version", "方案版本", "integer"),
        Field("published", "发布日期"),
        Field("chief", "网格长"),
        Field("chief_phone", "网格长工作电话"),
        Field("workers", "专职网格员"),
        Field("worker_phones", "网格员工作电话"),
    ),
    """
    SELECT g.code, g.number, g.name, c.code AS community_code, c.name AS community,
           s.name AS street, coalesce(t.households, 0) AS households,
           p.version AS plan_version, to_char(p.published_at, 'YYYY-MM-DD') AS published,
           ch.name AS chief, ch.work_phone AS chief_phone,
           wk.names AS workers, wk.phones AS worker_phones, g.geom
    FROM grid g
    JOIN grid_plan p ON p.id = g.plan_id AND p.status = 'published'
    JOIN community c ON c.code = p.community_code
    JOIN street_office s ON s.code = c.street_code
    LEFT JOIN (SELECT m.grid_id, count(h.id)::int AS households
               FROM grid_member m
               JOIN grid_plan mp ON mp.id = m.plan_id AND mp.status = 'published'
               JOIN household h ON h.building_id = m.building_id
                AND (m.unit_id IS NULL OR h.unit_id = m.unit_id)
               GROUP BY m.grid_id) t ON t.grid_id = g.id
    LEFT JOIN LATERAL (
        SELECT st.name, st.work_phone FROM grid_staff gs JOIN staff st ON st.id = gs.staff_id
        WHERE gs.grid_id = g.id AND gs.role = 'grid_chief' ORDER BY st.id LIMIT 1) ch ON true
    LEFT JOIN LATERAL (
        SELECT string_agg(st.name, '、' ORDER BY st.id) AS names,
               string_agg(coalesce(st.work_phone, ''), '、' ORDER BY st.id) AS phones
        FROM grid_staff gs JOIN staff st ON st.id = gs.staff_id
        WHERE gs.grid_id = g.id AND gs.role = 'full_time_worker') wk ON true
    WHERE c.code LIKE :prefix || '%'
    """,
    "Grids of the published plan of every community, with codes, households and staff.",
)

COMMUNITIES = Layer(
    "communities",
    "社区",
    Access.public,
    "code",
    (
        Field("code", "社区代码"),
        Field("name", "社区名称"),
        Field("street_code", "街道代码"),
        Field("street", "街道"),
        Field("office_address", "社区办公地址"),
        Field("office_phone", "社区电话"),
    ),
    """
    SELECT c.code, c.name, c.street_code, s.name AS street, c.office_address, c.office_phone,
           c.geom
    FROM community c JOIN street_office s ON s.code = c.street_code
    WHERE c.code LIKE :prefix || '%'
    """,
    "Community (社区) boundaries with their 12-digit division codes.",
)

STREETS = Layer(
    "streets",
    "街道",
    Access.public,
    "code",
    (
        Field("code", "街道代码"),
        Field("name", "街道名称"),
        Field("district_code", "区县代码"),
    ),
    """
    SELECT s.code, s.name, s.district_code, s.geom FROM street_office s
    WHERE s.code LIKE left(:prefix, 9) || '%'
    """,
    "Street office (街道) boundaries with their 9-digit codes.",
)

COMPOUNDS = Layer(
    "compounds",
    "小区",
    Access.staff,
    "id",
    (
        Field("id", "小区编号", "integer"),
        Field("community_code", "社区代码"),
        Field("name", "小区名称"),
    ),
    """
    SELECT k.id, k.community_code, k.name, k.geom FROM compound k
    WHERE k.community_code LIKE :prefix || '%'
    """,
)

BUILDINGS = Layer(
    "buildings",
    "楼栋",
    Access.staff,
    "id",
    (
        Field("id", "楼栋编号", "integer"),
        Field("community_code", "社区代码"),
        Field("compound_id", "小区编号", "integer"),
        Field("name", "楼栋名称"),
        Field("road", "路名"),
        Field("door_number", "门牌号"),
        Field("kind", "类型"),
        Field("floors", "层数", "integer"),
    ),
    """
    SELECT b.id, b.community_code, b.compound_id, b.name, b.road, b.door_number,
           b.kind::text AS kind, b.floors, b.geom
    FROM building b WHERE b.community_code LIKE :prefix || '%'
    """,
)

HOUSEHOLDS = Layer(
    "households",
    "住户 (个人信息)",
    Access.personal,
    "id",
    (
        Field("id", "住户编号", "integer"),
        Field("building_id", "楼栋编号", "integer"),
        Field("address", "地址"),
        Field("unit", "单元", "integer"),
        Field("floor", "楼层", "integer"),
        Field("room", "房号"),
        Field("head_name", "户主姓名"),
        Field("head_phone", "联系电话"),
        Field("id_number", "身份证号"),
        Field("members", "人数", "integer"),
    ),
    """
    SELECT h.id, h.building_id, b.road || b.door_number || b.name AS address,
           u.number::int AS unit, h.floor::int AS floor, h.room, h.head_name, h.head_phone,
           h.id_number, h.members::int AS members, ST_PointOnSurface(b.geom) AS geom
    FROM household h JOIN building b ON b.id = h.building_id
    LEFT JOIN unit_entrance u ON u.id = h.unit_id
    WHERE b.community_code LIKE :prefix || '%'
    """,
    "One point per household at its building; personal data.",
)

LAYERS: dict[str, Layer] = {
    layer.name: layer for layer in (GRIDS, COMMUNITIES, STREETS, COMPOUNDS, BUILDINGS, HOUSEHOLDS)
}
PUBLIC_LAYERS = {name: layer for name, layer in LAYERS.items() if layer.public}
