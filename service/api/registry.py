"""Routes for the registry: models, versions, aliases, layers, calibration."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.api.bodies import (
    NPY,
    is_npy,
    json_body,
    parse_json_object,
    request_body,
    validate_options,
)
from service.api.deps import ADMIN, INFER, TRAIN, Services, SessionDep, get_services
from service.api.schemas.common import ModelName, ModelRef, VersionNumber
from service.api.schemas.registry import (
    AliasUpdate,
    CalibrateRequest,
    CalibrateSource,
    CalibrationRead,
    LayerRead,
    LayerStatsRead,
    ModelPage,
    ModelRead,
    ModelSummaryRead,
    ProjectionRead,
    VersionRead,
)
from service.domain import calibration, projection, registry
from service.domain.arrays import FloatArray, npy_to_array, rows_to_array
from service.domain.datasets import load_dataset_array
from service.errors import BadInput

router = APIRouter(prefix="/v1/models", tags=["models"])
ALIAS = Path(
    pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,99}$",
    description="An alias: a letter, then up to 99 of A-Za-z0-9._- (never a number).",
)


@router.get("", response_model=ModelPage, dependencies=[INFER])
def list_models(session: Session = SessionDep) -> ModelPage:
    """Every model with its latest version and aliases."""
    items = [ModelSummaryRead(**vars(m)) for m in registry.list_models(session)]
    return ModelPage(items=items)


@router.get("/{name}", response_model=ModelRead, dependencies=[INFER])
def get_model(name: ModelName, session: Session = SessionDep) -> ModelRead:
    """A model with its aliases and versions."""
    detail = registry.describe_model(session, name)
    versions = [VersionRead.model_validate(v) for v in detail.versions]
    return ModelRead(name=detail.name, aliases=detail.aliases, versions=versions)


@router.put(
    "/{name}/aliases/{alias}",
    response_model=ModelSummaryRead,
    dependencies=[ADMIN],
    openapi_extra=request_body(AliasUpdate),
)
def set_alias(
    name: ModelName,
    alias: str = ALIAS,
    body: AliasUpdate = json_body(AliasUpdate),
    session: Session = SessionDep,
) -> ModelSummaryRead:
    """Point an alias (e.g. `production`) at a version."""
    summary = registry.set_alias(session, name, alias=alias, version=body.version)
    return ModelSummaryRead(**vars(summary))


@router.delete(
    "/{name}/aliases/{alias}", status_code=204, response_class=Response, dependencies=[ADMIN]
)
def delete_alias(name: ModelName, alias: str = ALIAS, session: Session = SessionDep) -> Response:
    """Remove an alias."""
    registry.delete_alias(session, name, alias)
    return Response(status_code=204)


@router.get(
    "/{ref}/layers",
    response_model=list[LayerRead],
    dependencies=[INFER],
)
def list_layers(
    ref: ModelRef,
    stats: bool = Query(default=False, description="Add each layer's end-of-training statistics."),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> list[LayerRead]:
    """The hidden layers whose activations `embed` can return; with `stats=true`, what each
    computed at the end of training (fire rate, dead units, saturation, code variance …)."""
    target, _ = services.lookup.resolve(session, ref)
    layers = [LayerRead(**vars(layer)) for layer in registry.layers_of(target.detector)]
    if not stats:
        return layers
    measured = registry.layer_stats_of(session, ref)
    if measured is None:
        return layers
    return [
        layer.model_copy(update={"stats": LayerStatsRead(**found)})
        for layer, found in zip(layers, measured, strict=True)
    ]


@router.get("/{ref}/projection", response_model=ProjectionRead, dependencies=[INFER])
def project_version(
    ref: ModelRef,
    method: Literal["pca"] = Query(default="pca", description="How codes are put on a plane."),
    n: int = Query(
        default=projection.SAMPLE_ROWS,
        ge=1,
        le=projection.SAMPLE_ROWS,
        description="Rows of the version's calibration sample to project.",
    ),
    alpha: float | None = Query(
        default=None, gt=0, lt=1, description="Flag at this alpha (default: the version's rule)."
    ),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> ProjectionRead:
    """The codes of up to `n` of the version's calibration rows on a plane (PCA), with their
    anomaly scores and flags: the data of the dashboard's latent view."""
    del method  # PCA is the only method today; the parameter keeps room for others
    found = projection.project(session, services.lookup.detectors, ref, n=n, alpha=alpha)
    arrays = {name: getattr(found, name).tolist() for name in ("x", "y", "scores", "is_anomaly")}
    return ProjectionRead(**(vars(found) | arrays))


@router.delete(
    "/{name}/versions/{version}",
    status_code=204,
    response_class=Response,
    dependencies=[ADMIN],
)
def delete_version(
    name: ModelName, version: VersionNumber, session: Session = SessionDep
) -> Response:
    """Delete a version (409 while an alias points at it); unused blobs go too."""
    registry.delete_version(session, name, version)
    return Response(status_code=204)


@router.delete("/{name}", status_code=204, response_class=Response, dependencies=[ADMIN])
def delete_model(name: ModelName, session: Session = SessionDep) -> Response:
    """Delete a model with all its versions and aliases; unused blobs go too."""
    registry.delete_model(session, name)
    return Response(status_code=204)


@router.post(
    "/{ref}/calibrate",
    status_code=201,
    response_model=CalibrationRead,
    dependencies=[TRAIN],
    openapi_extra=request_body(CalibrateRequest, binary=(NPY,)),
)
async def recalibrate_version(
    ref: ModelRef,
    request: Request,
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> CalibrationRead:
    """A new version of the model: the same weights, calibrated on new normal rows."""
    x, source, field = await _calibration_rows(request, session)
    done = await run_in_threadpool(
        calibration.recalibrate,
        session,
        services.lookup.detectors,
        ref,
        x,
        source=source,
        field=field,
    )
    detector = done.detector
    return CalibrationRead(
        model=done.model,
        version=done.version.version,
        from_version=done.from_version,
        alpha=float(detector.config_.calibration.alpha),
        threshold=registry.finite_or_none(detector.threshold()),
        n_calibration=int(detector.calibration_.n),
    )


async def _calibration_rows(
    request: Request, session: Session
) -> tuple[FloatArray, dict[str, Any], str]:
    """The normal rows: a stored dataset, JSON `instances`, or a `.npy` body."""
    body = await request.body()
    if is_npy(request):
        return npy_to_array(body), {"body": "npy"}, "body"
    document = parse_json_object(body)
    found = validate_options(
        CalibrateSource, {k: v for k, v in document.items() if k != "instances"}
    )
    if (found.dataset_id is None) == (document.get("instances") is None):
        raise BadInput(
            errors=[{"loc": ["body"], "msg": "send exactly one of dataset_id, instances"}]
        )
    if found.dataset_id is None:
        x = rows_to_array(document["instances"], field="instances")
        return x, {"body": "instances"}, "instances"
    x, _ = await run_in_threadpool(load_dataset_array, session, found.dataset_id)
    return x, {"dataset_id": found.dataset_id}, "dataset_id"
