"""KServe V2 / Open Inference Protocol messages (the parts Hourglass serves).

https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from service.api.schemas.common import request_config

Output = Literal["embeddings", "reconstructions", "scores", "p_values", "is_anomaly"]
OUTPUTS: tuple[Output, ...] = get_args(Output)
Parameter = bool | int | float | str
Datatype = Literal["FP32", "FP64"]
NUMBERS: dict[str, JsonValue] = {"type": "array", "items": {"type": "number"}}


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InferError(BaseModel):
    """Every error of the /v2 routes, as the protocol's clients read it."""

    error: str


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1: any number of rows.")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class InferInput(_Message):
    model_config = ConfigDict(
        extra="forbid",
        # the values come inline, or as raw bytes after the header (binary tensor extension)
        json_schema_extra={
            "anyOf": [
                {"required": ["data"]},
                {
                    "required": ["parameters"],
                    "properties": {
                        "parameters": {
                            "required": ["binary_data_size"],
                            "description": "With `binary_data_size`, the bytes follow the header.",
                        }
                    },
                },
            ]
        },
    )
    name: str = Field(max_length=200, description="Any name: the model has one input tensor.")
    shape: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)] = Field(
        description="[rows, columns], each at least 1; the columns in the model's order."
    )
    datatype: Datatype = Field(description="The element type of `data` (or the binary bytes).")
    parameters: dict[str, Parameter] | SkipJsonSchema[None] = Field(
        default=None,
        description="`binary_data_size`: the tensor is that many raw little-endian bytes after "
        "the JSON header (binary tensor extension).",
    )
    data: list[Any] | SkipJsonSchema[None] = Field(
        default=None,
        description="The values, row-major (flat, or nested by row).",
        # documented, not validated item by item (numpy reads the list: fast for many rows)
        json_schema_extra={"items": {"anyOf": [{"type": "number"}, NUMBERS]}},
    )


class RequestedOutput(_Message):
    name: Output = Field(description="An output tensor to return.")
    parameters: dict[str, Parameter] | SkipJsonSchema[None] = Field(
        default=None, description="`binary_data`: true for raw bytes after the JSON header."
    )


class InferRequest(_Message):
    model_config = request_config(
        {
            "id": "r1",
            "inputs": [
                {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [0.5, 1.2, -0.3]}
            ],
            "outputs": [{"name": "scores"}, {"name": "is_anomaly"}],
            "parameters": {"alpha": 0.01},
        }
    )
    id: str | SkipJsonSchema[None] = Field(
        default=None, max_length=200, description="Echoed in the answer."
    )
    parameters: dict[str, Parameter] | SkipJsonSchema[None] = Field(
        default=None,
        description="`alpha` (0–1) for is_anomaly and p-values' rule; `layer` (a hidden-layer "
        "index) for embeddings; `binary_data_output`: every output as raw bytes.",
    )
    inputs: Annotated[list[InferInput], Field(min_length=1, max_length=1)] = Field(
        description="Exactly one tensor: the rows."
    )
    outputs: list[RequestedOutput] | SkipJsonSchema[None] = Field(
        default=None, description="Default: every output."
    )


class InferOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Parameter] | None = None
    data: list[Any] | None = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Parameter] = Field(
        description="`rule`, `alpha`, `threshold` (absent when no row can be flagged), "
        "`warnings` (joined by ' | '), as in the v1 anomalies answer."
    )
    outputs: list[InferOutput]
