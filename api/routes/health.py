"""Liveness of the service, its primary database and each read replica."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import EngineDep, PoolDep
from data.db import DatabaseUnavailable, check_reachable

router = APIRouter(tags=["health"])


class ReplicaHealth(BaseModel):
    name: str
    """``host:port/dbname``."""
    state: str
    """``ok``, ``lagging`` (skipped: further behind than the bound), ``down`` or
    ``rejected: <why>`` (refused at start-up)."""
    lag_s: float | None = None


class Health(BaseModel):
    status: str
    """``ok``; ``degraded`` when the primary is down but a replica answers the public reads;
    ``unavailable`` (503) when nothing answers them."""
    database: str
    replicas: list[ReplicaHealth] | None = None
    """Only when ``WANGGE_REPLICA_URL`` names any."""


@router.get(
    "/healthz",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health}},
)
def healthz(engine: EngineDep, reads: PoolDep) -> Health | JSONResponse:
    """The primary (``database``) and each replica (``replicas``); 503 naming the problem when
    public reads cannot be answered."""
    replicas = [ReplicaHealth(**r) for r in reads.report()] or None
    try:
        check_reachable(engine)
    except DatabaseUnavailable as exc:
        database = f"unreachable: {exc}"
        if reads.serving():
            return Health(status="degraded", database=database, replicas=replicas)
        body = Health(status="unavailable", database=database, replicas=replicas)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    return Health(status="ok", database="ok", replicas=replicas)
