"""Query parameters of the hottest routes read as one pydantic model.

FastAPI's own parameter handling analyses every parameter's annotation on every request; on the
residents' lookup that cost more than the rest of the route. :func:`query_of` validates the whole
query string in one pydantic call instead, and :func:`query_parameters` documents the model's
fields in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def query_of(model: type[M], request: Request) -> M:
    """The request's query parameters validated as ``model``; a bad one is FastAPI's usual 422.
    Document them with ``openapi_extra=query_parameters(model)``."""
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
