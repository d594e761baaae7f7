"""Inference schemas. Row arrays are parsed with orjson and numpy (for speed); everything else in
a request, body or query string, is validated by the `…Options` schemas, which say each limit once.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from models.decision import Rule
from service.api.schemas.common import Strict, request_config

Rows = Annotated[list[Annotated[list[float], Field(min_length=1)]], Field(min_length=1)]
Records = Annotated[list[Annotated[dict[str, float], Field(min_length=1)]], Field(min_length=1)]
ROW_FIELDS = ("instances", "records")
# Exactly one of `instances` and `records`; neither may be null (the server says 422 otherwise).
ONE_OF_ROWS: JsonDict = {"oneOf": [{"required": ["instances"]}, {"required": ["records"]}]}


class _Options(Strict):
    pass


class EmbedOptions(_Options):
    layer: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None, description="Hidden-layer index (see /layers); default the code."
    )


class ReconstructOptions(_Options):
    pass


class AnomaliesOptions(_Options):
    alpha: Annotated[float, Field(gt=0, lt=1)] | SkipJsonSchema[None] = Field(
        default=None,
        description="Flag rows with p-value <= alpha. Default: the run's contamination rule if "
        "it set one, else the run's alpha.",
    )
    explain: Annotated[int, Field(ge=0, le=1000)] | SkipJsonSchema[None] = Field(
        default=None, description="Top-k features per row by share of the score."
    )


class _Rows(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_OF_ROWS)
    instances: Rows | SkipJsonSchema[None] = Field(
        default=None, description="Rows ordered like the model's columns."
    )
    records: Records | SkipJsonSchema[None] = Field(
        default=None, description="Rows as objects keyed by column name."
    )


def _example(**options: float) -> ConfigDict:
    return request_config({"instances": [[0.5, 1.2, -0.3]], **options}, **ONE_OF_ROWS)


class EmbedRequest(_Rows, EmbedOptions):
    model_config = _example(layer=0)


class ReconstructRequest(_Rows, ReconstructOptions):
    model_config = _example()


class AnomaliesRequest(_Rows, AnomaliesOptions):
    model_config = _example(alpha=0.01, explain=3)


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
    error: float = Field(description="Signed reconstruction error (input − rebuilt), scaled units.")
    share: float = Field(description="The feature's share of the row's score.")


class AnomaliesResponse(BaseModel):
    model: str
    version: int
    rule: Rule = Field(description="Which rule flagged: alpha (p <= alpha) or contamination.")
    alpha: float
    threshold: float | None = Field(
        description="Rows scoring above it are flagged; null: none can be."
    )
    scores: list[float]
    p_values: list[float]
    is_anomaly: list[bool]
    explanations: list[list[Explanation]] | None = None
    warnings: list[str] = Field(
        default_factory=list,
        description="What the answer cannot promise, e.g. an unreachable alpha.",
    )
