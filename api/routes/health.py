"""Liveness of the service and its database."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import EngineDep
from data.db import DatabaseUnavailable, check_reachable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(engine: EngineDep) -> Health | JSONResponse:
    """``ok`` when the database answers; 503 naming the problem when it does not."""
    try:
        check_reachable(engine)
    except DatabaseUnavailable as exc:
        body = Health(status="unavailable", database=f"unreachable: {exc}")
        return JSONResponse(body.model_dump(), status_code=503)
    return Health(status="ok", database="ok")
