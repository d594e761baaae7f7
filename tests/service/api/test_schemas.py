"""RunCreate mirrors the engine's config: every engine field, choice, bound and description."""

from __future__ import annotations

from dataclasses import fields
from enum import StrEnum
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from models import ArchitectureConfig, CalibrationConfig, PreprocessingConfig, TrainingConfig
from models.knobs import Knob
from service.api.schemas.runs import (
    ArchitectureIn,
    CalibrationIn,
    PreprocessingIn,
    RunCreate,
    TrainingIn,
)

SECTIONS = [
    (ArchitectureIn, ArchitectureConfig),
    (PreprocessingIn, PreprocessingConfig),
    (TrainingIn, TrainingConfig),
    (CalibrationIn, CalibrationConfig),
]
KNOBS = [(section, engine, f.name) for section, engine in SECTIONS for f in fields(engine)]


@pytest.mark.parametrize(("section", "engine"), SECTIONS)
def test_section_fields_match_the_engine(section: type[BaseModel], engine: type) -> None:
    assert set(section.model_fields) == {f.name for f in fields(engine)}
    assert all(f.default is None for f in section.model_fields.values())  # defaults: engine's only


@pytest.mark.parametrize(("section", "engine", "name"), KNOBS)
def test_choices_bounds_and_descriptions_are_the_engine_s(
    section: type[BaseModel], engine: type, name: str
) -> None:
    knob = Knob.of(engine, name)
    field = section.model_fields[name]
    assert field.description == knob.doc
    if knob.choices is not None:
        enum = next(a for a in get_args(field.annotation) if isinstance(a, type))
        assert issubclass(enum, StrEnum) and enum is knob.choices
        return
    schema: dict[str, Any] = section.model_json_schema()["properties"][name]
    numbers = [s for s in schema.get("anyOf", [schema]) if s.get("type") in ("integer", "number")]
    if knob.max_items is not None:
        assert schema["anyOf"][0]["maxItems"] == knob.max_items
        numbers = [schema["anyOf"][0]["items"]]
    assert numbers[0].get("minimum") == knob.low and numbers[0].get("maximum") == knob.high


def test_an_echoed_config_validates_again() -> None:
    # A config read back from a run (the default scaling included) must be accepted again.
    from models import DetectorConfig

    echoed = DetectorConfig().resolved(10, 1000).to_dict()
    body = RunCreate.model_validate({"dataset_id": 1, "model_name": "m", **echoed})
    assert body.partial_config() == echoed


@pytest.mark.parametrize(
    "bad",
    [
        {"training": {"epochs": True}},
        {"training": {"seed": 2**64}},
        {"architecture": {"hidden_layers": [1] * 100_000}},
        {"architecture": {"activation": "softmax"}},
        {"calibration": {"alpha": 0.9}},
    ],
)
def test_invalid_configs_are_refused_by_the_schema(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RunCreate.model_validate({"dataset_id": 1, "model_name": "m", **bad})
