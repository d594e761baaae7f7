"""Inference schemas. Bodies are parsed with orjson; these describe them for OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Rows(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instances: list[list[float]] | None = Field(
        default=None, description="Rows ordered like the model's columns."
    )
    records: list[dict[str, float]] | None = Field(
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
