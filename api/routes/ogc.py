"""OGC API – Features at ``/ogc``: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (CRS by
reference), over the public layers only.

Hand-written because the maintained Python servers do not fit: tipg has no Part 2 CRS support
(developmentseed/tipg#35), and pygeoapi reads a global YAML configuration at import time and
brings its own PostgreSQL provider. The queries are in ``data/exchange/ogc.py``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Connection

from api.deps import PG_INT_MAX, PoolDep
from data.exchange import ogc
from data.exchange.layers import PUBLIC_LAYERS, Layer
from geo.crs import gk_zone_epsg

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
GEOJSON = "application/geo+json"
MAX_LIMIT = 1000


def connection(reads: PoolDep) -> Iterator[Connection]:
    """A connection for public reads: on a fresh replica when there is one."""
    with reads.connect() as conn:
        yield conn


Conn = Annotated[Connection, Depends(connection)]


def known_parameters(*names: str) -> Callable[[Request], None]:
    """A dependency refusing query parameters the endpoint does not define: OGC API – Features
    answers an unknown parameter with 400 (Part 1, 7.6), not by ignoring it."""
    allowed = frozenset(names) | {"f"}

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ogc.OGCError(f"未知参数：{', '.join(unknown)}")

    return check


def _wants_html(request: Request, f: str | None) -> bool:
    if f:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept.split(",")[0]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}'
        "</title><style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        f"padding:2px 6px}}table{{border-collapse:collapse}}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _links_html(links: list[dict]) -> str:
    return (
        "<ul>"
        + "".join(
            f'<li><a href="{html.escape(li["href"])}">{html.escape(li.get("title", li["rel"]))}</a>'
            f" ({html.escape(li['rel'])}, {html.escape(li.get('type', ''))})</li>"
            for li in links
        )
        + "</ul>"
    )


@router.get("", summary="landing page", dependencies=[Depends(known_parameters())])
def landing(request: Request, f: str | None = None) -> Response:
    base = _base(request)
    body: dict[str, Any] = {
        "title": "网格 Wangge — OGC API Features",
        "description": "已发布的社区网格（编码、网格长与专职网格员工作电话）、社区与街道",
        "links": [
            {"rel": "self", "type": "application/json", "href": base + "?f=json"},
            {"rel": "alternate", "type": "text/html", "href": base + "?f=html"},
            {
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "href": base + "/api",
            },
            {"rel": "conformance", "type": "application/json", "href": base + "/conformance"},
            {"rel": "data", "type": "application/json", "href": base + "/collections"},
        ],
    }
    if _wants_html(request, f):
        return _page(body["title"], f"<p>{body['description']}</p>" + _links_html(body["links"]))
    return JSONResponse(body)


@router.get("/conformance", dependencies=[Depends(known_parameters())])
def conformance(request: Request, f: str | None = None) -> Response:
    if _wants_html(request, f):
        return _page("符合性声明", "<ul>" + "".join(f"<li>{c}</li>" for c in CONFORMANCE) + "</ul>")
    return JSONResponse({"conformsTo": CONFORMANCE})


def _collection(conn: Connection, layer: Layer, base: str) -> dict:
    box = ogc.extent(conn, layer)
    gk = gk_zone_epsg((box[0] + box[2]) / 2) if box else 4545
    href = f"{base}/collections/{layer.name}"
    out: dict[str, Any] = {
        "id": layer.name,
        "title": layer.title,
        "description": layer.description,
        "itemType": "feature",
        "crs": ogc.crs_list(gk),
        "storageCrs": ogc.EPSG_URI + "4490",
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "items", "type": GEOJSON, "href": href + "/items"},
            {"rel": "describedby", "type": "application/schema+json", "href": href + "/schema"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "href": href + "/queryables",
            },
            {"rel": "items", "type": "text/html", "href": href + "/items?f=html"},
        ],
    }
    if box:
        out["extent"] = {"spatial": {"bbox": [box], "crs": ogc.CRS84}}
    return out


@router.get("/collections", dependencies=[Depends(known_parameters())])
def collections(request: Request, conn: Conn, f: str | None = None) -> Response:
    base = _base(request)
    cols = [_collection(conn, layer, base) for layer in PUBLIC_LAYERS.values()]
    body = {
        "links": [{"rel": "self", "type": "application/json", "href": base + "/collections"}],
        "collections": cols,
        "crs": sorted({c for col in cols for c in col["crs"]}),
    }
    if _wants_html(request, f):
        return _page(
            "数据集",
            "".join(
                f'<h2><a href="{c["links"][2]["href"]}">{html.escape(c["title"])}</a></h2>'
                f"<p>{html.escape(c['description'])}</p>"
                for c in cols
            ),
        )
    return JSONResponse(body)


@router.get("/collections/{name}", dependencies=[Depends(known_parameters())])
def collection(name: str, request: Request, conn: Conn, f: str | None = None) -> Response:
    body = _collection(conn, ogc.collection(name), _base(request))
    if _wants_html(request, f):
        return _page(
            body["title"],
            _links_html(body["links"]) + "<p>坐标系：" + ", ".join(body["crs"]) + "</p>",
        )
    return JSONResponse(body)


def _bbox(raw: str | None) -> list[float] | None:
    if raw is None:
        return None
    try:
        return [float(v) for v in raw.split(",")]
    except ValueError as exc:
        raise ogc.OGCError("bbox 应为逗号分隔的数字") from exc


def _features_html(title: str, features: list[dict], layer: Layer, links: list[dict]) -> bytes:
    head = "".join(f"<th>{html.escape(fl.label)}</th>" for fl in layer.fields)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(ft['properties'].get(fl.name) or ''))}</td>"
            for fl in layer.fields
        )
        + "</tr>"
        for ft in features
    )
    return bytes(_page(title, f"<table><tr>{head}</tr>{rows}</table>" + _links_html(links)).body)


@router.get(
    "/collections/{name}/items",
    dependencies=[Depends(known_parameters("limit", "offset", "bbox", "bbox-crs", "crs"))],
)
def items(
    name: str,
    request: Request,
    conn: Conn,
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=PG_INT_MAX),
    bbox: str | None = None,
    bbox_crs: str | None = Query(None, alias="bbox-crs"),
    crs: str | None = None,
    f: str | None = None,
) -> Response:
    layer = ogc.collection(name)
    out, in_crs = ogc.parse_crs(crs), ogc.parse_crs(bbox_crs)
    limit = min(limit, MAX_LIMIT)
    features, matched = ogc.items(
        conn, layer, out=out, bbox=_bbox(bbox), bbox_crs=in_crs, limit=limit, offset=offset
    )
    base = f"{_base(request)}/collections/{name}/items"
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "f")]

    def page(at: int, *extra: tuple[str, str]) -> str:
        return f"{base}?{urlencode([*keep, ('offset', str(at)), *extra])}"

    links = [
        {"rel": "self", "type": GEOJSON, "href": page(offset)},
        {"rel": "alternate", "type": "text/html", "href": page(offset, ("f", "html"))},
    ]
    if offset + len(features) < matched:
        links.append({"rel": "next", "type": GEOJSON, "href": page(offset + limit)})
    headers = {"Content-Crs": f"<{out.uri}>"}
    if _wants_html(request, f):
        return HTMLResponse(_features_html(layer.title, features, layer, links), headers=headers)
    body = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "links": links,
    }
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), media_type=GEOJSON, headers=headers
    )


@router.get("/collections/{name}/items/{fid}", dependencies=[Depends(known_parameters("crs"))])
def item(
    name: str,
    fid: str,
    request: Request,
    conn: Conn,
    crs: str | None = None,
    f: str | None = None,
) -> Response:
    layer = ogc.collection(name)
    out = ogc.parse_crs(crs)
    features, _ = ogc.items(
        conn, layer, out=out, bbox=None, bbox_crs=out, limit=1, offset=0, fid=fid
    )
    if not features:
        raise ogc.OGCNotFound(f"数据集 {name} 中没有要素 {fid}")
    feature = features[0]
    href = f"{_base(request)}/collections/{name}/items/{quote(fid, safe='')}"
    feature["links"] = [
        {"rel": "self", "type": GEOJSON, "href": href},
        {
            "rel": "collection",
            "type": "application/json",
            "href": f"{_base(request)}/collections/{name}",
        },
    ]
    headers = {"Content-Crs": f"<{out.uri}>"}
    if _wants_html(request, f):
        return HTMLResponse(
            _features_html(fid, [feature], layer, feature["links"]), headers=headers
        )
    return Response(
        json.dumps(feature, ensure_ascii=False, default=str), media_type=GEOJSON, headers=headers
    )


@router.get("/collections/{name}/schema", dependencies=[Depends(known_parameters())])
@router.get("/collections/{name}/queryables", dependencies=[Depends(known_parameters())])
def feature_schema(name: str) -> JSONResponse:
    """The JSON Schema of the collection's features: its ``describedby`` link, and its
    queryables (OGC API – Features Part 3), so clients know the field types up front."""
    return JSONResponse(ogc.schema(ogc.collection(name)), media_type="application/schema+json")


@router.get("/api")
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI 3.0 description of this OGC API (FastAPI's own /openapi.json is 3.1)."""
    base = _base(request)

    def param(name: str, schema: dict, where: str = "query", required: bool = False) -> dict:
        return {"name": name, "in": where, "required": required, "schema": schema}

    coll = param("collectionId", {"type": "string", "enum": list(PUBLIC_LAYERS)}, "path", True)
    ok = {"200": {"description": "OK"}}
    return JSONResponse(
        {
            "openapi": "3.0.3",
            "info": {"title": "网格 Wangge — OGC API Features", "version": "1.0.0"},
            "servers": [{"url": base}],
            "paths": {
                "/": {"get": {"summary": "landing page", "responses": ok}},
                "/conformance": {"get": {"summary": "conformance classes", "responses": ok}},
                "/collections": {"get": {"summary": "collections", "responses": ok}},
                "/collections/{collectionId}": {"get": {"parameters": [coll], "responses": ok}},
                "/collections/{collectionId}/items": {
                    "get": {
                        "parameters": [
                            coll,
                            param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                            param(
                                "offset", {"type": "integer", "minimum": 0, "maximum": PG_INT_MAX}
                            ),
                            param("bbox", {"type": "array", "items": {"type": "number"}}),
                            param("bbox-crs", {"type": "string", "format": "uri"}),
                            param("crs", {"type": "string", "format": "uri"}),
                        ],
                        "responses": ok,
                    }
                },
                "/collections/{collectionId}/schema": {
                    "get": {"parameters": [coll], "responses": ok}
                },
                "/collections/{collectionId}/queryables": {
                    "get": {"parameters": [coll], "responses": ok}
                },
                "/collections/{collectionId}/items/{featureId}": {
                    "get": {
                        "parameters": [
                            coll,
                            param("featureId", {"type": "string"}, "path", True),
                            param("crs", {"type": "string", "format": "uri"}),
                        ],
                        "responses": ok,
                    }
                },
            },
        }
    )
