"""Raw request bodies: JSON read with orjson, `.npy` read with numpy, options validated by schemas,
and how such routes describe themselves in OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from service.domain.arrowipc import ARROW
from service.errors import BadInput

NPY = "application/x-npy"
JSON = "application/json"
S = TypeVar("S", bound=BaseModel)


def content_type(request: Request) -> str:
    """The body's media type, without its parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_npy(request: Request) -> bool:
    """True when the body is a `.npy` array."""
    return content_type(request) == NPY


def is_arrow(request: Request) -> bool:
    """True when the body is an Arrow IPC stream."""
    return content_type(request) == ARROW


def answer_type(request: Request) -> str:
    """The answer's media type: Arrow IPC or `.npy` when `Accept` names one, else JSON."""
    accept = request.headers.get("accept", "")
    if ARROW in accept:
        return ARROW
    return NPY if NPY in accept else JSON


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object body, or a 422 that says why not."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if b"NaN" in body or b"Infinity" in body:
            msg = f"body: not valid JSON: NaN and Infinity are not JSON numbers ({exc})"
            raise BadInput(msg) from exc
        raise BadInput(f"body: not valid JSON ({exc})") from exc
    except RecursionError as exc:  # nested deeper than any request needs
        raise BadInput("body: JSON nested too deeply") from exc
    if not isinstance(document, dict):
        raise BadInput(errors=[{"loc": ["body"], "msg": "must be a JSON object"}])
    return document


def validate_options(
    schema: type[S], body: Mapping[str, Any], query: Mapping[str, str] | None = None
) -> S:
    """The request's options (body fields win over query parameters of the same name), checked
    by `schema`; a 422 naming each bad field and where it came from."""
    values: dict[str, Any] = {k: v for k, v in (query or {}).items() if k in schema.model_fields}
    values.update(body)
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"loc": [_origin(item["loc"], body), *item["loc"]], "msg": item["msg"]}
            for item in exc.errors(include_url=False, include_input=False)
        ]
        raise BadInput(_summary(errors), errors=errors) from exc


def json_body(schema: type[S]) -> Any:
    """A body parameter read only after the route's other dependencies (its key check) ran.

    FastAPI reads a declared body before any dependency: an unauthenticated request would be
    read and parsed (an 88 MB body, a malformed one answered 400) before its 401. Routes take
    their JSON body through this dependency instead, with `request_body(schema)` for OpenAPI.
    """

    async def read(request: Request) -> S:
        return validate_options(schema, parse_json_object(await request.body()))

    reader: Callable[[Request], Awaitable[S]] = read
    return Depends(reader)


def _origin(loc: tuple[int | str, ...], body: Mapping[str, Any]) -> str:
    return "body" if not loc or loc[0] in body else "query"


def _summary(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])


def query_parameters(schema: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI query parameters for the fields of an options schema."""
    properties = schema.model_json_schema()["properties"]
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": spec.get("description", ""),
            "schema": {k: v for k, v in spec.items() if k not in ("description", "title")},
        }
        for name, spec in properties.items()
    ]


BINARY = {"schema": {"type": "string", "format": "binary", "minLength": 1}}  # never empty
UPLOADED_FILE = {
    "type": "string",
    "format": "binary",
    "description": "The table: CSV, Parquet, `.npy` or JSON, by its name or its content.",
}


def request_body(
    schema: type[BaseModel],
    *,
    binary: tuple[str, ...] = (),
    query: type[BaseModel] | None = None,
) -> Any:
    """`openapi_extra` for a route that reads its body (and options) itself, as JSON or as one
    of the `binary` media types."""
    ref = {"$ref": f"#/components/schemas/{schema.__name__}"}
    content: dict[str, Any] = {"application/json": {"schema": ref}}
    content.update(dict.fromkeys(binary, BINARY))
    extra: dict[str, Any] = {"requestBody": {"required": True, "content": content}}
    if query is not None and query.model_fields:
        extra["parameters"] = query_parameters(query)
    return extra


def upload_body(schema: type[BaseModel], *, raw: tuple[str, ...], query: type[BaseModel]) -> Any:
    """`openapi_extra` of the upload route: JSON rows, a multipart form, or a raw file body."""
    extra: dict[str, Any] = request_body(schema, query=query)
    content = extra["requestBody"]["content"]
    fields = {
        name: {k: v for k, v in spec.items() if k != "title"}
        for name, spec in query.model_json_schema()["properties"].items()
    }
    content["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "required": ["file"],
            "additionalProperties": False,
            "properties": {"file": UPLOADED_FILE, **fields},
        }
    }
    content.update(dict.fromkeys(raw, BINARY))
    return extra
