"""RunCreate mirrors the engine's config: every engine field and choice can be set, nothing else."""

from __future__ import annotations

from dataclasses import fields
from typing import get_args

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from models import ArchitectureConfig, CalibrationConfig, PreprocessingConfig, TrainingConfig
from models.config import (
    ACTIVATIONS,
    DEVICES,
    NORMALIZATIONS,
    OPTIMIZERS,
    SCALINGS,
    SCORINGS,
    VARIANTS,
)
from service.api.schemas.runs import ArchitectureIn, CalibrationIn, PreprocessingIn, TrainingIn


@pytest.mark.parametrize(
    ("section", "engine"),
    [
        (ArchitectureIn, ArchitectureConfig),
        (PreprocessingIn, PreprocessingConfig),
        (TrainingIn, TrainingConfig),
        (CalibrationIn, CalibrationConfig),
    ],
)
def test_section_fields_match_the_engine(section: type[BaseModel], engine: type) -> None:
    assert set(section.model_fields) == {f.name for f in fields(engine)}
    assert all(f.default is None for f in section.model_fields.values())  # defaults: engine's only


@pytest.mark.parametrize(
    ("field", "choices"),
    [
        (ArchitectureIn.model_fields["activation"], ACTIVATIONS),
        (ArchitectureIn.model_fields["normalization"], NORMALIZATIONS),
        (ArchitectureIn.model_fields["variant"], VARIANTS),
        (PreprocessingIn.model_fields["scaling"], SCALINGS),
        (TrainingIn.model_fields["optimizer"], OPTIMIZERS),
        (TrainingIn.model_fields["device"], DEVICES),
        (CalibrationIn.model_fields["scoring"], SCORINGS),
    ],
)
def test_choices_match_the_engine(field: FieldInfo, choices: tuple[str, ...]) -> None:
    # A config read back from a run (the default scaling included) must be accepted again.
    literal = next(arg for arg in get_args(field.annotation) if arg is not type(None))
    assert set(get_args(literal)) == set(choices)
