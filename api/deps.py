"""What a request handler needs from the running app, as ``Annotated`` dependencies.

The settings, the SQLAlchemy engine and its sessions, and the async pool of the public reads are
made in the app's lifespan (``api/app.py``); handlers take them as parameters instead of reading
``request.app.state``, so each one says what it uses. Who is calling lives in ``api/auth.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from data.replicas import ReadRouter
from data.settings import Settings

PG_INT_MAX = 2**31 - 1
"""Ids, versions, revisions and grid numbers are PostgreSQL integers: a larger number names
nothing and would reach the database as an out-of-range error, so routes refuse it (422)."""


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request; the handler commits what it writes."""
    with request.app.state.sessions() as session:
        yield session


def get_public_pool(request: Request) -> ReadRouter:
    """Connections for the residents' reads (lookups, tiles, public pages, OGC API): on a fresh
    read replica when there is one, else on the primary (``data/replicas.py``)."""
    return request.app.state.reads


def get_pdf_slots(request: Request) -> asyncio.Semaphore:
    """How many signboard PDFs may be printed at once."""
    return request.app.state.pdf_slots


def get_csp_nonce(request: Request) -> str:
    """This request's Content-Security-Policy nonce for inline scripts (``api/security.py``)."""
    return request.state.csp_nonce


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
PoolDep = Annotated[ReadRouter, Depends(get_public_pool)]
PdfSlotsDep = Annotated[asyncio.Semaphore, Depends(get_pdf_slots)]
NonceDep = Annotated[str, Depends(get_csp_nonce)]
