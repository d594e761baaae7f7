"""Raw request bodies: JSON read with orjson, `.npy` read with numpy, and their OpenAPI shape."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel

from service.errors import BadInput

NPY = "application/x-npy"


def is_npy(request: Request) -> bool:
    """True when the body is a `.npy` array."""
    return request.headers.get("content-type", "").split(";")[0].strip() == NPY


def wants_npy(request: Request) -> bool:
    """True when the client asked for a `.npy` answer."""
    return NPY in request.headers.get("accept", "")


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object body, or a 422 that says why not."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"body: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise BadInput(errors=[{"loc": ["body"], "msg": "must be a JSON object"}])
    return document


def request_body(schema: type[BaseModel], *, npy: bool = False, multipart: bool = False) -> Any:
    """`openapi_extra` for a route that reads its body itself."""
    ref = {"$ref": f"#/components/schemas/{schema.__name__}"}
    content: dict[str, Any] = {"application/json": {"schema": ref}}
    if npy:
        content[NPY] = {"schema": {"type": "string", "format": "binary"}}
    if multipart:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "name": {"type": "string", "maxLength": 200},
                },
            }
        }
    return {"requestBody": {"required": True, "content": content}}
