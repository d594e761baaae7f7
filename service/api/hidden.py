"""Routes that show what the hidden layers compute: attributions, latent traversals, the rows
that drive a unit, and CKA between two versions (models/attribution.py does the work)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.api.bodies import json_body, request_body
from service.api.deps import INFER, Services, SessionDep, get_services
from service.api.schemas.common import ModelName, ModelRef
from service.api.schemas.hidden import (
    AttributionRequest,
    AttributionResponse,
    CompareResponse,
    TraverseRequest,
    TraverseResponse,
    UnitExample,
    UnitExamplesResponse,
)
from service.domain import hidden
from service.domain.arrays import rows_to_array
from service.domain.lookup import Target

router = APIRouter(prefix="/v1/models", tags=["hidden layers"], dependencies=[INFER])
Layer = Annotated[int, Path(ge=0, le=64, description="Hidden layer index (see /layers).")]
Unit = Annotated[int, Path(ge=0, le=65_535, description="Unit of that layer.")]
VersionQuery = Annotated[
    int, Query(ge=1, le=2**31 - 1, description="A version number of the model.")
]


async def _target(services: Services, session: Session, ref: str) -> Target:
    target, _ = await run_in_threadpool(services.lookup.resolve, session, ref)
    return target


@router.post(
    "/{ref}/attributions",
    response_model=AttributionResponse,
    openapi_extra=request_body(AttributionRequest),
)
async def attribute_rows(
    ref: ModelRef,
    body: AttributionRequest = json_body(AttributionRequest),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> AttributionResponse:
    """Per row, how much each column drives a hidden unit or the anomaly score, and how far the
    attributions are from adding up to the change they explain."""
    target = await _target(services, session, ref)
    x = rows_to_array(body.instances, field="instances", columns=target.columns)
    unit = None if body.target == "score" else (body.target.layer, body.target.unit)
    found = await run_in_threadpool(
        hidden.attributions, target, x, unit=unit, method=body.method, steps=body.steps
    )
    ig = body.method == "integrated_gradients"
    return AttributionResponse(
        model=target.model,
        version=target.version,
        columns=target.columns,
        method=body.method,
        steps=body.steps if ig else None,
        baseline="reconstruction" if unit is None else "training mean",
        attributions=found.attributions.tolist(),
        values=found.values.tolist(),
        baseline_values=found.baseline_values.tolist(),
        completeness_gap=found.completeness_gap.tolist(),
    )


@router.post(
    "/{ref}/traverse", response_model=TraverseResponse, openapi_extra=request_body(TraverseRequest)
)
async def traverse_code(
    ref: ModelRef,
    body: TraverseRequest = json_body(TraverseRequest),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> TraverseResponse:
    """A latent traversal: reconstructions in original units as one code unit moves."""
    target = await _target(services, session, ref)
    codes, rebuilt = await run_in_threadpool(
        hidden.traverse, target, body.unit, body.values, body.instance
    )
    return TraverseResponse(
        model=target.model,
        version=target.version,
        unit=body.unit,
        columns=target.columns,
        codes=codes.tolist(),
        reconstructions=rebuilt.tolist(),
    )


@router.get("/{ref}/layers/{layer}/units/{unit}/examples", response_model=UnitExamplesResponse)
async def unit_examples(
    ref: ModelRef,
    layer: Layer,
    unit: Unit,
    k: int = Query(default=10, ge=1, le=100, description="Rows at each end."),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> UnitExamplesResponse:
    """The calibration rows kept with the version that activate a unit most and least."""
    target = await _target(services, session, ref)
    found = await run_in_threadpool(hidden.unit_examples, target, layer, unit, k)

    def examples(
        rows: list[int], activations: list[float], values: list[list[float]]
    ) -> list[UnitExample]:
        return [
            UnitExample(row=r, activation=a, values=v)
            for r, a, v in zip(rows, activations, values, strict=True)
        ]

    return UnitExamplesResponse(
        model=target.model,
        version=target.version,
        layer=layer,
        unit=unit,
        columns=target.columns,
        n_rows=found.n_rows,
        top=examples(found.top.tolist(), found.top_activations.tolist(), found.top_rows.tolist()),
        bottom=examples(
            found.bottom.tolist(), found.bottom_activations.tolist(), found.bottom_rows.tolist()
        ),
    )


@router.get("/{name}/compare", response_model=CompareResponse)
async def compare_versions(
    name: ModelName,
    a: VersionQuery,
    b: VersionQuery,
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> CompareResponse:
    """Linear CKA between two versions' representations of the same rows: did a retrain change
    what the code (and each hidden layer) computes?"""
    code, layers, rows = await run_in_threadpool(
        hidden.compare, session, services.lookup.detectors, name, a, b
    )
    return CompareResponse(model=name, a=a, b=b, rows=rows, code_cka=code, layers_cka=layers)
