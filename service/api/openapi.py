"""The OpenAPI document: every error response is a problem document (on /v2, the Open Inference
Protocol's `{"error": …}`), bodies read by hand are named."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from service.api.problems import MEDIA_TYPE
from service.api.schemas.common import Problem
from service.api.schemas.datasets import DatasetCreate
from service.api.schemas.hidden import AttributionRequest, TraverseRequest
from service.api.schemas.inference import AnomaliesRequest, EmbedRequest, ReconstructRequest
from service.api.schemas.registry import AliasUpdate, CalibrateRequest
from service.api.schemas.runs import RunCreate
from service.api.schemas.sweeps import SweepCreate
from service.api.schemas.v2 import InferError, InferRequest

HAND_READ: list[type[BaseModel]] = [
    DatasetCreate,
    EmbedRequest,
    ReconstructRequest,
    AnomaliesRequest,
    RunCreate,
    AliasUpdate,
    CalibrateRequest,
    InferRequest,
    AttributionRequest,
    TraverseRequest,
    SweepCreate,
]
ERRORS = {
    "400": "The multipart body cannot be parsed",
    "401": "Missing or unknown API key",
    "403": "The API key lacks the scope",
    "404": "Unknown id, name, version or alias",
    "406": "The answer cannot be given in the media type the request accepts",
    "409": "The resource is in the wrong state",
    "413": "The body is too large",
    "415": "The body's content type is not one the route reads",
    "422": "Invalid input; `errors` names the row and column",
    "503": "The database is not available",
}


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


CONFLICTS = {
    ("delete", "/v1/datasets/{dataset_id}"),
    ("post", "/v1/runs"),
    ("post", "/v1/runs/{run_id}/cancel"),
    ("delete", "/v1/runs/{run_id}"),
    ("delete", "/v1/models/{name}/versions/{version}"),
    ("get", "/v1/models/{ref}/layers/{layer}/units/{unit}/examples"),  # no rows kept (older)
    ("get", "/v1/models/{name}/compare"),
    ("post", "/v1/sweeps/{sweep_id}/cancel"),
    ("get", "/v1/models/{ref}/projection"),  # a version registered without a sample
}
REFERENCES = {("post", "/v1/runs"), ("post", "/v1/sweeps"), ("post", "/v1/models/{ref}/calibrate")}
NOT_ACCEPTABLE = {("post", "/v1/models/{ref}/anomalies")}  # explanations in a .npy answer
MEDIA_TYPES = {("post", "/v1/datasets")}  # bodies of an unsupported content type: 415


def _v2_error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/InferError"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_codes(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses one operation can answer with."""
    if path.startswith("/v2/models/"):
        return sorted(["401", "403", "404", "422", "503"] + (["413"] if method == "post" else []))
    if not path.startswith("/v1/"):
        return ["503"] if path in ("/readyz", "/v2/health/ready") else []
    codes = ["401", "403", "422", "503"]
    if "{" in path or (method, path) in REFERENCES:
        codes.append("404")
    if (method, path) in CONFLICTS:
        codes.append("409")
    if (method, path) in NOT_ACCEPTABLE:
        codes.append("406")
    if (method, path) in MEDIA_TYPES:
        codes.append("415")
    if "requestBody" in operation:
        codes.append("413")
        if "multipart/form-data" in operation["requestBody"]["content"]:
            codes.append("400")
    return sorted(codes)


def _add_errors(method: str, path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    render = _v2_error if path.startswith("/v2") else _problem_response
    for code in error_codes(method, path, operation):
        responses[code] = render(ERRORS[code])
    responses["default"] = render("Any other error (405, 500)")


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Generate (once) the OpenAPI document with problem responses everywhere."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    every: list[type[BaseModel]] = [Problem, InferError, *HAND_READ]
    for schema in every:
        found = schema.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[schema.__name__] = found
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            _add_errors(method, path, operation)
    app.openapi_schema = document
    return document
