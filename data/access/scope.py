"""What part of the district an account may see and change.

Admins see everything; a street planner the communities of their street office; a community
planner their community; a grid worker the grids their staff record serves in published plans.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Account, AccountRole, Community, Grid, GridPlan, GridStaff, PlanStatus

PLANNER_ROLES = frozenset(
    {AccountRole.admin, AccountRole.street_planner, AccountRole.community_planner}
)


@dataclass(frozen=True)
class Scope:
    """The communities (None: all) and, for grid workers, the grid codes an account may see."""

    actor: str
    role: AccountRole
    communities: frozenset[str] | None
    grid_codes: frozenset[str] | None = None

    @property
    def can_plan(self) -> bool:
        return self.role in PLANNER_ROLES

    def sees_community(self, code: str) -> bool:
        return self.communities is None or code in self.communities

    def sees_grid(self, community_code: str, grid_code: str) -> bool:
        if not self.sees_community(community_code):
            return False
        return self.grid_codes is None or grid_code in self.grid_codes


def scope_of(session: Session, account: Account) -> Scope:
    """Work out an account's scope from its role and scope columns."""
    if account.role is AccountRole.admin:
        return Scope(account.username, account.role, None)
    if account.role is AccountRole.street_planner:
        codes = session.scalars(
            select(Community.code).where(Community.street_code == account.street_code)
        )
        return Scope(account.username, account.role, frozenset(codes))
    if account.role is AccountRole.community_planner:
        assert account.community_code is not None  # the account table's CHECK guarantees it
        return Scope(account.username, account.role, frozenset({account.community_code}))
    rows = session.execute(
        select(GridPlan.community_code, Grid.code)
        .join(Grid, Grid.plan_id == GridPlan.id)
        .join(GridStaff, GridStaff.grid_id == Grid.id)
        .where(GridStaff.staff_id == account.staff_id, GridPlan.status == PlanStatus.published)
    ).all()
    return Scope(
        account.username,
        account.role,
        frozenset(r.community_code for r in rows),
        frozenset(r.code for r in rows),
    )
