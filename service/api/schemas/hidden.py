"""Schemas of what the hidden layers compute: attributions, traversals, unit examples, CKA."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import Strict
from service.api.schemas.inference import Rows

MAX_ATTRIBUTION_ROWS = 1_000
MAX_TRAVERSE_VALUES = 101


class UnitRef(Strict):
    layer: int = Field(ge=0, le=64, description="Hidden layer index (see /layers).")
    unit: int = Field(ge=0, le=65_535, description="Unit of that layer.")


class AttributionRequest(Strict):
    """Rows and what to attribute: a unit of a hidden layer, or the anomaly score."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"instances": [[0.5, 1.2, -0.3]], "target": {"layer": 1, "unit": 0}},
                {"instances": [[0.5, 1.2, -0.3]], "target": "score", "method": "gradient_x_input"},
            ]
        },
    )
    instances: Annotated[Rows, Field(max_length=MAX_ATTRIBUTION_ROWS)] = Field(
        description="Rows ordered like the model's columns (at most 1,000)."
    )
    target: UnitRef | Literal["score"] = Field(
        description='{"layer", "unit"}: that unit\'s activation (baseline: the training mean); '
        '"score": the anomaly score (baseline: the row\'s reconstruction).'
    )
    method: Literal["integrated_gradients", "gradient_x_input"] = Field(
        default="integrated_gradients",
        description="Integrated Gradients (Gauss–Legendre quadrature, Captum's rule), or "
        "gradient × (input − baseline).",
    )
    steps: int = Field(
        default=32,
        ge=2,
        le=1_024,
        description="Integrated Gradients' quadrature points. A relu-family net's gradient "
        "jumps along the path: more steps close its completeness gap.",
    )


class AttributionResponse(BaseModel):
    model: str
    version: int
    columns: list[str]
    method: str
    steps: int | None = Field(description="Quadrature points (null for gradient × input).")
    baseline: str = Field(description="training mean, or reconstruction (the score).")
    attributions: list[list[float]] = Field(description="Per row, per column.")
    values: list[float] = Field(description="f(x): the target at each row.")
    baseline_values: list[float] = Field(description="f(x₀): the target at each baseline.")
    completeness_gap: list[float] = Field(
        description="|Σ attributions − (f(x) − f(x₀))| per row: how far the attributions are "
        "from adding up (Integrated Gradients: the quadrature error)."
    )


class TraverseRequest(Strict):
    """Move one code unit over values; the other units are those of `instance`'s code (default:
    the code of the training mean)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"unit": 0, "values": [-2.0, -1.0, 0.0, 1.0, 2.0]},
                {"unit": 1, "values": [-1.0, 1.0], "instance": [0.5, 1.2, -0.3]},
            ]
        },
    )
    unit: int = Field(ge=0, le=65_535, description="The code unit that moves.")
    values: list[Annotated[float, Field(ge=-1e6, le=1e6)]] = Field(
        min_length=1, max_length=MAX_TRAVERSE_VALUES, description="The values it takes."
    )
    instance: Annotated[list[float], Field(min_length=1)] | None = Field(
        default=None, description="One row whose code the others keep (default: training mean)."
    )


class TraverseResponse(BaseModel):
    model: str
    version: int
    unit: int
    columns: list[str]
    codes: list[list[float]] = Field(description="The code decoded at each value.")
    reconstructions: list[list[float]] = Field(description="Per value, in original units.")


class UnitExample(BaseModel):
    row: int = Field(description="The row's position among the kept calibration rows.")
    activation: float
    values: list[float] = Field(description="The row, in original units.")


class UnitExamplesResponse(BaseModel):
    model: str
    version: int
    layer: int
    unit: int
    columns: list[str]
    n_rows: int = Field(description="Calibration rows kept with the version (at most 1,024).")
    top: list[UnitExample] = Field(description="The rows that activate the unit most.")
    bottom: list[UnitExample] = Field(description="The rows that activate it least.")


class CompareResponse(BaseModel):
    model: str
    a: int
    b: int
    rows: int = Field(description="Version a's kept calibration rows, fed to both versions.")
    code_cka: float = Field(
        description="Linear CKA of the two codes: 1 = the same up to "
        "rotation and scale, near 0 = unrelated."
    )
    layers_cka: list[float] = Field(
        description="Linear CKA of each pair of hidden layers with the same index (empty when "
        "the versions have different numbers of layers)."
    )
