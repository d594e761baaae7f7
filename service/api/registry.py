"""Routes for the registry: models, versions, aliases, layers, calibration."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.orm import Session

from service.api.bodies import json_body, request_body
from service.api.deps import ADMIN, INFER, TRAIN, Services, SessionDep, get_services
from service.api.schemas.registry import (
    AliasUpdate,
    CalibrateRequest,
    CalibrationRead,
    LayerRead,
    ModelPage,
    ModelRead,
    ModelSummaryRead,
    VersionRead,
)
from service.domain import inference, registry
from service.domain.arrays import rows_to_array
from service.domain.datasets import load_dataset_array
from service.errors import BadInput

router = APIRouter(prefix="/v1/models", tags=["models"])
ALIAS = Path(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,99}$")


@router.get("", response_model=ModelPage, dependencies=[INFER])
def list_models(session: Session = SessionDep) -> ModelPage:
    """Every model with its latest version and aliases."""
    items = [ModelSummaryRead(**vars(m)) for m in registry.list_models(session)]
    return ModelPage(items=items)


@router.get("/{name}", response_model=ModelRead, dependencies=[INFER])
def get_model(name: str, session: Session = SessionDep) -> ModelRead:
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
    name: str,
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
def delete_alias(name: str, alias: str = ALIAS, session: Session = SessionDep) -> Response:
    """Remove an alias."""
    registry.delete_alias(session, name, alias)
    return Response(status_code=204)


@router.get("/{ref}/layers", response_model=list[LayerRead], dependencies=[INFER])
def list_layers(
    ref: str, session: Session = SessionDep, services: Services = Depends(get_services)
) -> list[LayerRead]:
    """The hidden layers whose activations `embed` can return."""
    target = inference.find_target(session, services.cache, ref)
    return [LayerRead(**vars(layer)) for layer in registry.layers_of(target.detector)]


@router.post(
    "/{ref}/calibrate",
    response_model=CalibrationRead,
    dependencies=[TRAIN],
    openapi_extra=request_body(CalibrateRequest),
)
def calibrate(
    ref: str,
    body: CalibrateRequest = json_body(CalibrateRequest),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> CalibrationRead:
    """Recalibrate a version on normal rows, without retraining."""
    if (body.dataset_id is None) == (body.instances is None):
        raise BadInput(
            errors=[{"loc": ["body"], "msg": "send exactly one of dataset_id, instances"}]
        )
    if body.dataset_id is not None:
        x, _ = load_dataset_array(session, body.dataset_id)
    else:
        x = rows_to_array(body.instances, field="instances")
    target = inference.calibrate(session, services.cache, ref, x)
    detector = target.detector
    return CalibrationRead(
        model=target.model,
        version=target.version,
        alpha=float(detector.config_.calibration.alpha),
        threshold=registry.finite_or_none(detector.threshold()),
        n_calibration=int(detector.calibration_.n),
    )
