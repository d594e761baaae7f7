"""The OpenAPI document: every error response is a problem document, bodies read by hand are named."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from service.api.problems import MEDIA_TYPE
from service.api.schemas.common import Problem
from service.api.schemas.datasets import DatasetCreate
from service.api.schemas.inference import AnomaliesRequest, EmbedRequest, ReconstructRequest

HAND_READ: list[type[BaseModel]] = [
    DatasetCreate,
    EmbedRequest,
    ReconstructRequest,
    AnomaliesRequest,
]
ERRORS = {
    "401": "Missing or unknown API key",
    "403": "The API key lacks the scope",
    "404": "Unknown id, name, version or alias",
    "409": "The resource is in the wrong state",
    "413": "The body is too large",
    "422": "Invalid input; `errors` names the row and column",
    "503": "The database is not available",
}


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


def _add_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    codes = ERRORS if path.startswith("/v1/") else {"503": ERRORS["503"]}
    for code, description in codes.items():
        responses[code] = _problem_response(description)
    responses["default"] = _problem_response("Any other error")


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Generate (once) the OpenAPI document with problem responses everywhere."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    every: list[type[BaseModel]] = [Problem, *HAND_READ]
    for schema in every:
        found = schema.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[schema.__name__] = found
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            _add_errors(path, operation)
    app.openapi_schema = document
    return document
