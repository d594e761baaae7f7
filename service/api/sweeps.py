"""Routes for sweeps: searches over run configs whose trials are ordinary runs."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from service.api.bodies import json_body, request_body
from service.api.deps import TRAIN, Services, SessionDep, get_services
from service.api.schemas.common import Limit, Offset, SweepId
from service.api.schemas.sweeps import SweepCreate, SweepPage, SweepRead, TrialRead
from service.domain import sweeps as domain
from service.store import sweeps as store
from service.store.tables import Run, RunStatus, Sweep

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"], dependencies=[TRAIN])


def _state(run: Run) -> str:
    record = run.trial or {}
    if record.get("pruned_at_epoch") is not None:
        return "pruned"
    if run.status == RunStatus.SUCCEEDED:
        return "complete"
    return str(run.status.value)


def _trial(run: Run) -> TrialRead:
    record = run.trial or {}
    return TrialRead(
        number=run.trial_number or 0,
        run_id=run.id,
        state=_state(run),
        params=record.get("params") or {},
        objective=record.get("objective"),
        holdout=record.get("holdout"),
        pruned_at_epoch=record.get("pruned_at_epoch"),
        parameters=record.get("parameters"),
        epochs=run.epoch,
    )


def read_sweep(session: Session, sweep: Sweep) -> SweepRead:
    """The API view of a sweep with its trials."""
    runs = store.trial_runs(session, sweep.id)
    request = sweep.request
    planned = sum(run.epochs for run in runs) + (sweep.trials - len(runs)) * max(
        (run.epochs for run in runs), default=0
    )
    return SweepRead(
        id=sweep.id,
        status=sweep.status,
        dataset_id=sweep.dataset_id,
        model_name=sweep.model_name,
        model_version=sweep.model_version,
        trials=sweep.trials,
        base=request["base"],
        space=request["space"],
        objective=request["objective"],
        pruning=request["pruning"],
        parallel=request["parallel"],
        seed=request["seed"],
        best=sweep.best,
        epochs_trained=sum(run.epoch for run in runs),
        epochs_planned=planned,
        error=sweep.error,
        created_at=sweep.created_at,
        finished_at=sweep.finished_at,
        trial_runs=[_trial(run) for run in runs],
    )


@router.post("", status_code=202, response_model=SweepRead, openapi_extra=request_body(SweepCreate))
def create_sweep(
    body: SweepCreate = json_body(SweepCreate),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> SweepRead:
    """Queue a sweep: Optuna asks for configs, each trial trains as a run, the best trial is
    registered as a version of `model_name`."""
    request = domain.SweepRequest(
        dataset_id=body.dataset_id,
        model_name=body.model_name,
        base=body.base.partial_config(),
        space=body.space_dict(),
        trials=body.trials,
        objective=body.objective.model_dump(mode="json"),
        pruning=body.pruning,
        parallel=body.parallel,
        seed=body.seed,
    )
    sweep = domain.create_sweep(session, request, queue=services.queue, limits=services.run_limits)
    return read_sweep(session, sweep)


@router.get("", response_model=SweepPage)
def list_sweeps(limit: Limit = 50, offset: Offset = 0, session: Session = SessionDep) -> SweepPage:
    """Sweeps, newest first."""
    items, total = store.list_sweeps(session, limit=limit, offset=offset)
    return SweepPage(items=[read_sweep(session, s) for s in items], total=total)


@router.get("/{sweep_id}", response_model=SweepRead)
def get_sweep(sweep_id: SweepId, session: Session = SessionDep) -> SweepRead:
    """One sweep with its trials: params, objective, state, pruned_at_epoch."""
    return read_sweep(session, domain.get_sweep(session, sweep_id))


@router.post("/{sweep_id}/cancel", status_code=202, response_model=SweepRead)
def cancel_sweep(
    sweep_id: SweepId, session: Session = SessionDep, services: Services = Depends(get_services)
) -> SweepRead:
    """Cancel a sweep: its trials in flight stop after their epoch, no new trial starts."""
    return read_sweep(session, domain.cancel_sweep(session, sweep_id, services.queue))
