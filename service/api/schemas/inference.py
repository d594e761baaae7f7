"""Inference schemas. Bodies are parsed with orjson; these describe them for OpenAPI."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

Rows = Annotated[list[Annotated[list[float], Field(min_length=1)]], Field(min_length=1)]
Records = Annotated[list[Annotated[dict[str, float], Field(min_length=1)]], Field(min_length=1)]
# Exactly one of `instances` and `records`; neither may be null (the server says 422 otherwise).
ONE_OF_ROWS: JsonDict = {"oneOf": [{"required": ["instances"]}, {"required": ["records"]}]}


class _Rows(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_OF_ROWS)
    instances: Rows | SkipJsonSchema[None] = Field(
        default=None, description="Rows ordered like the model's columns."
    )
    records: Records | SkipJsonSchema[None] = Field(
        default=None, description="Rows as objects keyed by column name."
    )


class EmbedRequest(_Rows):
    layer: int | None = Field(default=None, description="Hidden-layer index; default the code.")


class ReconstructRequest(_Rows):
    pass


class AnomaliesRequest(_Rows):
    alpha: float | None = Field(default=None, gt=0, lt=1, description="Default: the run's alpha.")
    explain: int | None = Field(default=None, ge=0, le=1000, description="Top-k features per row.")


class EmbedResponse(BaseModel):
    model: str
    version: int
    embeddings: list[list[float]]


class ReconstructResponse(BaseModel):
    model: str
    version: int
    reconstructions: list[list[float]]
    errors: list[float]


class Explanation(BaseModel):
    feature: str
    error: float
    share: float


class AnomaliesResponse(BaseModel):
    model: str
    version: int
    alpha: float
    threshold: float | None = Field(description="null when no score can be flagged at alpha.")
    scores: list[float]
    p_values: list[float]
    is_anomaly: list[bool]
    explanations: list[list[Explanation]] | None = None
