"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

M = TypeVar("M", bound=BaseModel)
PG_INT_MAX = 2**31 - 1
"""Ids, versions, revisions and grid numbers are PostgreSQL integers: a larger number names
nothing and would reach the database as an out-of-range error, so routes refuse it (422)."""


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
    return StaffActor(f"account:{principal.account.username}", principal.scope.communities)


async def personal_data_user(request: Request, session: SessionDep) -> StaffActor:
    """Who may export or import household records on the API: a community planner, for their
    own community only (PIPL: minimum access; every processing is recorded with its reason).
    Operators use ``wangge export households`` / ``wangge import households``, also audited."""
    from api.auth import current_principal
    from data.models import AccountRole

    principal = await current_principal(request, session)
    if principal.account.role is not AccountRole.community_planner:
        raise NotAuthorised("住户个人信息只能由本社区的规划人员导出或导入")
    return StaffActor(f"account:{principal.account.username}", principal.scope.communities)


def area_in_scope(actor: StaffActor | None, area: str) -> str:
    """The area (district, street or community code) a scoped actor may work on.

    Unscoped callers (public layers, admins) keep what they asked; a scoped one must name a
    community of theirs, or a street office all of whose communities are theirs; an empty
    area means their only community.
    """
    if actor is None or actor.community_codes is None:
        return area
    codes = actor.community_codes
    if not area and len(codes) == 1:
        return next(iter(codes))
    if area in codes or (len(area) == 9 and codes and all(c.startswith(area) for c in codes)):
        return area
    raise NotAuthorised(f"区域 {area or '（全区）'} 不在您的管辖范围内")


StaffUser = Annotated[StaffActor, Depends(staff_user)]
PersonalDataUser = Annotated[StaffActor, Depends(personal_data_user)]


def query_of(model: type[M], request: Request) -> M:
    """The request's query parameters validated as ``model`` in one pydantic call; a bad one is
    FastAPI's usual 422. For the hottest routes (the lookup): FastAPI's own parameter handling
    analyses every parameter's annotation on every request, which cost more than the rest of
    the route. Document the parameters with ``openapi_extra=query_parameters(model)``."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None


def query_parameters(model: type[BaseModel]) -> dict:
    """OpenAPI ``parameters`` for the fields of ``model`` read with :func:`query_of`."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    parameters = []
    for name, found in schema["properties"].items():
        field = _inlined(found, definitions)
        description = field.pop("description", None)
        field.pop("title", None)
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", ()),
                "schema": field,
                **({"description": description} if description else {}),
            }
        )
    return {"parameters": parameters}


def _inlined(node: Any, definitions: dict) -> Any:
    """``node`` with its ``$ref``s to ``definitions`` replaced by what they name (the node's
    own keys, such as a field's description, win)."""
    if isinstance(node, dict):
        own = {k: _inlined(v, definitions) for k, v in node.items() if k != "$ref"}
        if "$ref" not in node:
            return own
        return _inlined(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions) | own
    if isinstance(node, list):
        return [_inlined(v, definitions) for v in node]
    return node
