"""docs/api.md is the contract: every route the OpenAPI document has is written down there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings
from service.main import create_app

DOC = (Path(__file__).parents[3] / "docs" / "api.md").read_text()


def _operations() -> list[str]:
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    ]


@pytest.mark.parametrize("operation", _operations())
def test_every_route_is_in_the_api_reference(operation: str) -> None:
    # "`DELETE /v1/models/{name}` …": the route itself, not a longer one that starts like it
    pattern = "`" + re.escape(operation) + r"[`\s(?]"
    assert re.search(pattern, DOC), f"docs/api.md does not document {operation}"


def test_every_request_body_has_a_valid_example() -> None:
    from service.api.openapi import HAND_READ

    document = create_app(Settings(database_url="sqlite://")).openapi()
    schemas = document["components"]["schemas"]
    by_name = {model.__name__: model for model in HAND_READ}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            name = ref.rsplit("/", 1)[-1]
            examples = schemas[name].get("examples")
            assert examples, f"{method.upper()} {path}: {name} has no example"
            for example in examples:
                by_name[name].model_validate(example)


def test_operation_ids_are_readable() -> None:
    document = create_app(Settings(database_url="sqlite://")).openapi()
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(set(ids)) == len(ids)
    assert {"createRun", "embedRows", "findAnomalies", "recalibrateVersion"} <= set(ids)
    assert all("_" not in name and name[0].islower() for name in ids)


def _fields(
    schemas: dict[str, Any], schema: dict[str, Any], seen: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of a request-body schema, through `$ref`s, unions and list items."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from _fields(schemas, schemas[name], seen)
        return
    for key, value in schema.get("properties", {}).items():
        yield key, value
        yield from _fields(schemas, value, seen)
    for part in (*schema.get("anyOf", []), *schema.get("oneOf", [])):
        yield from _fields(schemas, part, seen)
    if isinstance(schema.get("items"), dict):
        yield from _fields(schemas, schema["items"], seen)


def test_every_parameter_and_request_field_is_described() -> None:
    # Issue 11 finding 7: config fields had no descriptions and `{ref}` was not explained.
    document = create_app(Settings(database_url="sqlite://")).openapi()
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), f"{where}: {parameter['name']}"
                if parameter["name"] == "ref":
                    assert "`name@3`" in parameter["description"], where
                    assert "`name@staging`" in parameter["description"], where
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for name, field in _fields(schemas, media["schema"], set()):
                    described = field.get("description") or "$ref" in field
                    assert described, f"{where}: body field {name}"


def _config_fields() -> list[str]:
    from service.api.schemas import runs

    sections = {
        "architecture": runs.ArchitectureIn,
        "preprocessing": runs.PreprocessingIn,
        "training": runs.TrainingIn,
        "calibration": runs.CalibrationIn,
    }
    assert set(sections) == set(runs.RunCreate.model_fields) - {"dataset_id", "model_name"}
    return [
        f"{section}.{name}" for section, schema in sections.items() for name in schema.model_fields
    ]


@pytest.mark.parametrize("field", _config_fields())
def test_every_run_config_field_is_in_the_api_reference(field: str) -> None:
    name = field.rsplit(".", 1)[1]
    written = f"`{field}`" in DOC or f"`{name}`" in DOC
    assert written, f"docs/api.md does not document the run config field {field}"


def test_every_choice_of_a_config_field_is_in_the_api_reference() -> None:
    from enum import StrEnum

    from models import choices

    enums = [e for e in vars(choices).values() if isinstance(e, type) and issubclass(e, StrEnum)]
    missing = [f"{e.__name__}.{v}" for e in enums for v in e if f"`{v}`" not in DOC]
    assert not missing, f"docs/api.md does not list these choices: {missing}"
