"""Exports for city platforms and imports of community data: thin wrappers over ``data/``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from api.auth import (
    PersonalDataUser,
    StaffActor,
    StaffUser,
    area_in_scope,
    current_principal,
    personal_data_user,
    staff_user,
)
from api.deps import EngineDep, SessionDep, SettingsDep
from api.uploads import saved_upload
from data.exchange.export import export
from data.exchange.layers import LAYERS, Access
from data.imports import (
    Imported,
    InputLimits,
    import_buildings,
    import_compounds,
    import_households,
    parse_mapping,
)

router = APIRouter(tags=["exchange 数据交换"])


def export_actor(
    request: Request,
    session: SessionDep,
    layer: str = Query(
        "grids",
        description="grids, communities, streets; staff: compounds, "
        "buildings; personal data: households",
    ),
) -> StaffActor | None:
    """Nobody for public layers; a planner for staff layers; personal data as ``api.auth``
    says. A public layer needs no login, so the principal is resolved only for the others."""
    found = LAYERS.get(layer)
    if found is None or found.access is Access.public:
        return None
    principal = current_principal(request, session, sent=None)  # a GET carries no CSRF token
    if found.access is Access.personal:
        return personal_data_user(principal)
    return staff_user(principal)


@router.get("/export", response_class=FileResponse)
def export_layer(
    engine: EngineDep,
    actor: Annotated[StaffActor | None, Depends(export_actor)],
    layer: str = "grids",
    format: Literal["gpkg", "shp", "geojson", "fgb", "kml", "csv"] = "gpkg",
    crs: str = Query("4490", description="4326, 4490, gk or 4534–4554, 3857, gcj02, bd09"),
    encoding: Literal["UTF-8", "GBK"] = "UTF-8",
    area: str = Query("", description="district, street or community code to limit to"),
    reason: str | None = None,
) -> FileResponse:
    """The layer as a file; the ``Content-Crs`` header and the file name say its CRS."""
    area = area_in_scope(actor, area)
    tmp = Path(tempfile.mkdtemp(prefix="wangge-export-"))
    try:
        result = export(
            engine,
            [layer],
            format,
            crs,
            tmp,
            prefix=area,
            encoding=encoding,
            actor=actor.name if actor else None,
            reason=reason,
        )
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    target = result.target
    crs_uri = f"http://www.opengis.net/def/crs/EPSG/0/{target.epsg}" if target.epsg else target.key
    return FileResponse(
        result.path,
        media_type=result.media_type,
        filename=result.path.name,
        headers={
            "Content-Crs": f"<{crs_uri}>",
            "X-Wangge-Crs": target.label,
            "X-Wangge-Features": str(sum(result.counts.values())),
        },
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


class ImportSummary(BaseModel):
    """What an import wrote, in a line a planner reads, and the warnings to read with it."""

    summary: str
    inserted: int
    updated: int
    notes: list[str]

    @classmethod
    def of(cls, result: Imported) -> ImportSummary:
        return cls(
            summary=result.summary(),
            inserted=result.inserted,
            updated=result.updated,
            notes=result.notes,
        )


@router.post("/import/households")
def import_household_table(
    engine: EngineDep,
    settings: SettingsDep,
    actor: PersonalDataUser,
    file: Annotated[UploadFile, File(description="一张表: .xlsx or .csv")],
    community: Annotated[str | None, Form()] = None,
    mapping: Annotated[str, Form(description="one 表头=field per line")] = "",
) -> ImportSummary:
    """Add the households of a 一张表, all or none; 422 with the report on any problem."""
    with tempfile.TemporaryDirectory() as tmp:
        path = saved_upload(file, Path(tmp), settings.max_upload_bytes)
        with engine.begin() as conn:
            result = import_households(
                conn,
                path,
                actor=actor.name,
                community=area_in_scope(actor, community or "") or None,
                mapping=parse_mapping(mapping.splitlines()),
                limits=InputLimits.of(settings),
            )
    return ImportSummary.of(result)


@router.post("/import/{kind}")
def import_layer(
    engine: EngineDep,
    settings: SettingsDep,
    actor: StaffUser,
    kind: Literal["buildings", "compounds"],
    file: Annotated[UploadFile, File(description="zipped Shapefile, GeoPackage or GeoJSON")],
    community: Annotated[str | None, Form()] = None,
    crs: Annotated[str | None, Form(description="gcj02, bd09 or an EPSG code")] = None,
    mapping: Annotated[str, Form(description="one 表头=field per line")] = "",
) -> ImportSummary:
    """Add or update buildings or compounds, all or none; 422 with the report on any problem."""
    run = import_buildings if kind == "buildings" else import_compounds
    with tempfile.TemporaryDirectory() as tmp:
        path = saved_upload(file, Path(tmp), settings.max_upload_bytes)
        with engine.begin() as conn:
            result = run(
                conn,
                path,
                community=area_in_scope(actor, community or "") or None,
                declared_crs=crs or None,
                mapping=parse_mapping(mapping.splitlines()),
                limits=InputLimits.of(settings),
            )
    return ImportSummary.of(result)
