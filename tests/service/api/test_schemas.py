"""RunCreate mirrors the engine's config: every engine field can be set, and nothing else."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import BaseModel

from models import ArchitectureConfig, CalibrationConfig, PreprocessingConfig, TrainingConfig
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
