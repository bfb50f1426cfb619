"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request; the handler commits what it writes."""
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class StaffActor:
    """An authorised staff member, as the audit log names them."""

    name: str
    community_codes: frozenset[str] | None = None  # None: the whole district


class NotAuthorised(PermissionError):
    """Staff or household (personal) data asked for by a caller no role authorises: 403."""


async def staff_user(request: Request, session: SessionDep) -> StaffActor:
    """A logged-in planner (street, community or admin); others get 401/403.

    Buildings and compounds (not personal data) leave and come in through this dependency.
    """
    from api.auth import current_principal  # api.auth builds on this module

    principal = await current_principal(request, session)
    if not principal.scope.can_plan:
        raise NotAuthorised("只有规划人员可以导入或导出楼栋数据")
    return StaffActor(f"account:{principal.account.username}")


def personal_data_user() -> StaffActor:
    """Who may export or import household records on the API: nobody until accounts grant a
    role for personal data (PIPL: minimum access, every processing recorded). Operators use
    ``wangge export households`` / ``wangge import households``, which are audited."""
    raise NotAuthorised(
        "住户个人信息只能由授权角色导出或导入 (household data: no API role is authorised yet; "
        "an operator can use the wangge command, which is audited)"
    )


StaffUser = Annotated[StaffActor, Depends(staff_user)]
PersonalDataUser = Annotated[StaffActor, Depends(personal_data_user)]
