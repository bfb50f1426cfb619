"""The grid network as SQLAlchemy 2 models.

The administrative ladder is district → street office → community → compound → building →
unit entrance → household. Grid plans are versions per community (MapIt's "generations"): each
has its own grids and its own building→grid assignment, so an archived plan stays viewable.

Every geometry is stored in CGCS2000 geographic coordinates (EPSG:4490, x = longitude) and has a
GiST index; areas and distances are computed in the Gauss–Krüger zone of the data.
"""

from __future__ import annotations

import enum
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STORAGE_SRID = 4490
"""CGCS2000 geographic; longitude/latitude in PostGIS axis order."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _geom(kind: str) -> Geometry:
    return Geometry(kind, srid=STORAGE_SRID, spatial_index=True)


class PlanStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class StaffRole(enum.StrEnum):
    grid_chief = "grid_chief"  # 网格长
    full_time_worker = "full_time_worker"  # 专职网格员
    part_time_worker = "part_time_worker"  # 兼职网格员
    liaison_leader = "liaison_leader"  # 联户长
    party_group_leader = "party_group_leader"  # 网格党小组长


class BuildingKind(enum.StrEnum):
    tower = "tower"  # 高层
    midrise = "midrise"  # 多层
    house = "house"  # 自建房
    other = "other"


class District(Base):
    """区/县, keyed by its 6-digit division code."""

    __tablename__ = "district"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str]
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{6}$'", name="code_digits"),)


class StreetOffice(Base):
    """街道, keyed by district code + 3 digits."""

    __tablename__ = "street_office"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    name: Mapped[str]
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{9}$' AND left(code, 6) = district_code", name="code"),
    )


class Community(Base):
    """社区, keyed by the 12-digit statistical division code.

    ``band_min``/``band_max`` hold the community's household band for a grid (300–500 unless
    the community is granted another).
    """

    __tablename__ = "community"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("street_office.code"), index=True)
    name: Mapped[str]
    office_address: Mapped[str | None]
    office_phone: Mapped[str | None]
    band_min: Mapped[int] = mapped_column(SmallInteger, default=300, server_default="300")
    band_max: Mapped[int] = mapped_column(SmallInteger, default=500, server_default="500")
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{12}$' AND left(code, 9) = street_code", name="code"),
        CheckConstraint("0 < band_min AND band_min < band_max", name="band"),
    )


class Compound(Base):
    """小区: buildings that share a gate and, usually, a property manager."""

    __tablename__ = "compound"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("community.code"), index=True)
    name: Mapped[str] = mapped_column(index=True)
    geom = mapped_column(_geom("POLYGON"), nullable=False)


class Building(Base):
    """楼栋. ``geom`` is the footprint polygon, or a point where only a point is known.

    ``created_at``: when the building was added ('-infinity' for those standing before the
    column existed). A building imported after a community's plans were drawn joins the grid
    it lies in (``data.plans.membership``), and its households count as new when re-balancing
    (``data.plans.engine.new_since_published``).
    """

    __tablename__ = "building"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("community.code"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"), index=True)
    name: Mapped[str]  # e.g. "3栋"
    road: Mapped[str] = mapped_column(index=True)  # 路名, searched by residents
    door_number: Mapped[str]  # 门牌号, e.g. "12号"
    kind: Mapped[BuildingKind] = mapped_column(Enum(BuildingKind, name="building_kind"))
    floors: Mapped[int] = mapped_column(SmallInteger)
    geom = mapped_column(_geom("GEOMETRY"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    units: Mapped[list[UnitEntrance]] = relationship(
        back_populates="building", order_by="UnitEntrance.number"
    )
    __table_args__ = (
        CheckConstraint(
            "GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON', 'POINT')", name="geom_kind"
        ),
        CheckConstraint("floors > 0", name="floors"),
    )


class UnitEntrance(Base):
    """单元: a stairwell entrance of a building; ``dwellings`` is its number of flats.

    ``created_at``: when the entrance was added ('-infinity' for those standing before the
    column existed), so that re-balancing can tell the entrances built since the published
    plan (``data.plans.engine.new_since_published``).
    """

    __tablename__ = "unit_entrance"
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(SmallInteger)
    dwellings: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    building: Mapped[Building] = relationship(back_populates="units")
    __table_args__ = (
        Index("uq_unit_entrance_building_number", "building_id", "number", unique=True),
        CheckConstraint("number > 0 AND dwellings >= 0", name="counts"),
    )


class Household(Base):
    """户: personal data. Never on a public route; every staff read is audited."""

    __tablename__ = "household"
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit_entrance.id"), index=True)
    floor: Mapped[int] = mapped_column(SmallInteger)
    room: Mapped[str]
    head_name: Mapped[str]
    head_phone: Mapped[str | None]
    id_number: Mapped[str | None]
    members: Mapped[int] = mapped_column(SmallInteger)
    __table_args__ = (CheckConstraint("members > 0", name="members"),)


class HouseholdCare(Base):
    """Sensitive care tags (PIPL sensitive personal information), kept in their own schema so
    that access can be granted apart from the household table."""

    __tablename__ = "household_care"
    __table_args__ = {"schema": "protected"}
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), primary_key=True
    )
    elderly_alone: Mapped[bool] = mapped_column(default=False)
    low_income: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    left_behind_child: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)


class Road(Base):
    """A road centreline; roads are the preferred grid boundaries."""

    __tablename__ = "road"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    level: Mapped[str]  # trunk / primary / secondary / local
    geom = mapped_column(_geom("LINESTRING"), nullable=False)


class River(Base):
    """A river's water surface; rivers are boundaries no grid crosses."""

    __tablename__ = "river"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class GridPlan(Base):
    """One version of a community's grids. Exactly one is published per community.

    ``revision`` increases on every edit; writers send the revision they read (optimistic
    locking).
    """

    __tablename__ = "grid_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("community.code"), index=True)
    version: Mapped[int]
    status: Mapped[PlanStatus] = mapped_column(Enum(PlanStatus, name="plan_status"))
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str]
    updated_by: Mapped[str | None]
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    grids: Mapped[list[Grid]] = relationship(back_populates="plan", order_by="Grid.number")
    __table_args__ = (
        Index("uq_grid_plan_version", "community_code", "version", unique=True),
        Index(
            "uq_grid_plan_one_published",
            "community_code",
            unique=True,
            postgresql_where=text("status = 'published'"),
        ),
    )


class Grid(Base):
    """网格. ``code`` is the community code + a 3-digit sequence (west→east, north→south)."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plan.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(15))
    number: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str]
    description: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    plan: Mapped[GridPlan] = relationship(back_populates="grids")
    __table_args__ = (
        Index("uq_grid_plan_code", "plan_id", "code", unique=True),
        Index("uq_grid_plan_number", "plan_id", "number", unique=True),
        CheckConstraint("code ~ '^[0-9]{15}$'", name="code_digits"),
    )


class GridMember(Base):
    """Which grid a building (or, for a split building, a unit entrance) belongs to in a plan."""

    __tablename__ = "grid_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plan.id", ondelete="CASCADE"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit_entrance.id"))
    __table_args__ = (
        Index(
            "uq_grid_member_plan_building_unit",
            "plan_id",
            "building_id",
            "unit_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )


class Staff(Base):
    """A person who serves grids; ``work_phone`` is public, on the signboard."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("community.code"), index=True)
    name: Mapped[str]
    role: Mapped[StaffRole] = mapped_column(Enum(StaffRole, name="staff_role"))
    work_phone: Mapped[str | None]
    party_member: Mapped[bool] = mapped_column(default=False)
    organisation: Mapped[str | None]  # for part-time workers: police station, utility, ...


class GridStaff(Base):
    """A staff member's post in a grid of a plan (copied forward when a grid is kept)."""

    __tablename__ = "grid_staff"
    grid_id: Mapped[int] = mapped_column(
        ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True, index=True)
    role: Mapped[StaffRole] = mapped_column(Enum(StaffRole, name="staff_role"))


class LiaisonHousehold(Base):
    """十联户: the households a liaison leader looks after."""

    __tablename__ = "liaison_household"
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)


class AuditLog(Base):
    """Who did what, when, to which object, and why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    actor: Mapped[str]
    action: Mapped[str]
    object_type: Mapped[str]
    object_id: Mapped[str | None]
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONB)


class AccountRole(enum.StrEnum):
    admin = "admin"
    street_planner = "street_planner"  # 街道规划员: every community of one street office
    community_planner = "community_planner"  # 社区规划员: one community
    grid_worker = "grid_worker"  # 网格员: the grids their staff record serves


class Account(Base):
    """A staff login. The scope columns say which part of the district the account sees."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str]
    password_hash: Mapped[str]
    role: Mapped[AccountRole] = mapped_column(Enum(AccountRole, name="account_role"))
    street_code: Mapped[str | None] = mapped_column(ForeignKey("street_office.code"))
    community_code: Mapped[str | None] = mapped_column(ForeignKey("community.code"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    __table_args__ = (
        CheckConstraint(
            "(role = 'admin')"
            " OR (role = 'street_planner' AND street_code IS NOT NULL)"
            " OR (role = 'community_planner' AND community_code IS NOT NULL)"
            " OR (role = 'grid_worker' AND staff_id IS NOT NULL)",
            name="scope",
        ),
    )


class AuthSession(Base):
    """A login session (browser cookie) or API token; only the token's SHA-256 is stored."""

    __tablename__ = "auth_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PlanEdit(Base):
    """One edit of a draft plan, with the state it replaced, so that it can be undone."""

    __tablename__ = "plan_edit"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plan.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str]
    action: Mapped[str]
    summary: Mapped[str]
    before: Mapped[dict] = mapped_column(JSONB)


class RateLimit(Base):
    """One client's budget of requests (public lookups, failed logins), shared by every server
    process: the GCRA's theoretical arrival time of its next request, in epoch seconds
    (``data/access/limits.py``). UNLOGGED: a crash may forget the budgets, never slow them."""

    __tablename__ = "rate_limit"
    __table_args__ = {"prefixes": ["UNLOGGED"]}
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tat: Mapped[float] = mapped_column(Double)


OPEN_REQUEST = "state IN ('pending', 'dispatched', 'accepted', 'in_progress')"


class ServiceRequest(Base):
    """群众诉求: a resident's request, routed to the grid (and worker) that holds its point.

    ``code`` is the resident's unguessable tracking code. ``state`` follows
    :mod:`data.requests.machine`; ``level`` says how far it has escalated (0 the assignee,
    1 the community, 2 the street office). ``phone`` is personal data: shown to the assignee
    and the community's dispatchers only, and purged after the retention period.
    """

    __tablename__ = "service_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    geom = mapped_column(_geom("POINT"), nullable=False)
    community_code: Mapped[str] = mapped_column(ForeignKey("community.code"), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    assignee_department: Mapped[str | None]
    state: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result_public: Mapped[str | None] = mapped_column(Text)
    result_internal: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(20))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'dispatched', 'accepted', 'in_progress', 'closed', 'rated')",
            name="state",
        ),
        CheckConstraint(
            "assignee_kind IN ('staff', 'community', 'department')", name="assignee_kind"
        ),
        CheckConstraint("level BETWEEN 0 AND 2", name="level"),
        CheckConstraint(
            "rating IS NULL OR rating IN ('satisfied', 'basically', 'unsatisfied')", name="rating"
        ),
        # The dashboard's partial months: an index-only scan of the columns it sums.
        Index(
            "ix_service_request_created_at",
            "created_at",
            postgresql_include=[
                "community_code",
                "grid_code",
                "category",
                "state",
                "due_at",
                "closed_at",
                "rating",
            ],
        ),
        # The inboxes and the overdue counts read open requests only.
        Index(
            "ix_service_request_open_assignee",
            "assignee_staff_id",
            "due_at",
            postgresql_where=text(OPEN_REQUEST),
        ),
        Index(
            "ix_service_request_open_community",
            "community_code",
            "due_at",
            postgresql_where=text(OPEN_REQUEST),
        ),
    )


REQUEST_STATES = ("pending", "dispatched", "accepted", "in_progress", "closed", "rated")
request_rollup = Table(
    "request_rollup",
    Base.metadata,
    Column("month", Date, nullable=False),
    Column("community_code", String(12), nullable=False),
    Column("grid_code", String(15)),
    Column("category", String(16), nullable=False),
    *(Column(f"state_{s}", Integer, nullable=False) for s in REQUEST_STATES),
    Column("closed", Integer, nullable=False),
    Column("on_time", Integer, nullable=False),
    Column("close_seconds", Numeric, nullable=False),
    Column("rated", Integer, nullable=False),
    Column("satisfied", Integer, nullable=False),
    Index(
        "uq_request_rollup_key",
        "month",
        "community_code",
        "grid_code",
        "category",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
)
"""The requests dashboard's sums per month (China Standard Time), community, grid and category:
how many requests are in each state, closed, closed on time, seconds to close, rated and
satisfied. Kept equal to the sums of ``service_request``'s rows by statement-level triggers in
the writing transaction (migration ``0006_q_request_rollup``); read by
:func:`data.requests.views.dashboard`."""


class RequestEvent(Base):
    """One step of a request: who moved it from which state to which, when and why, and the
    note the resident sees on the tracking page (``public_note``)."""

    __tablename__ = "request_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str]
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    public_note: Mapped[str | None] = mapped_column(Text)


class RequestPhoto(Base):
    """A photo of a request, re-encoded (JPEG) with every metadata block (EXIF, GPS) dropped.
    Personal data: the assignee and the community's dispatchers only; purged with the phone."""

    __tablename__ = "request_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("request_event.id", ondelete="SET NULL")
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]


class AppSecret(Base):
    """Server-side secrets shared by every worker process (e.g. the key that signs the
    residents' human check), generated by the migration."""

    __tablename__ = "app_secret"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str]
