"""Queries on sweeps and their trial runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.store.db import insert
from service.store.tables import FINISHED, Run, RunEpoch, RunStatus, Sweep, utcnow


def add_sweep(
    session: Session, *, dataset_id: int, model_name: str, request: dict[str, Any], trials: int
) -> Sweep:
    """Insert a queued sweep."""
    sweep = Sweep(status=RunStatus.QUEUED, dataset_id=dataset_id, model_name=model_name)
    sweep.request, sweep.trials = request, trials
    return insert(session, sweep)


def get_sweep(session: Session, sweep_id: int) -> Sweep | None:
    """The sweep with this id, if any."""
    return session.get(Sweep, sweep_id)


def list_sweeps(session: Session, *, limit: int, offset: int) -> tuple[list[Sweep], int]:
    """A page of sweeps, newest first, and the total."""
    total = session.scalar(select(func.count()).select_from(Sweep)) or 0
    rows = session.scalars(select(Sweep).order_by(Sweep.id.desc()).limit(limit).offset(offset))
    return list(rows.all()), total


def active_sweep_ids(session: Session) -> list[int]:
    """Sweeps that are not finished, oldest first."""
    query = select(Sweep.id).where(Sweep.status.not_in(list(FINISHED))).order_by(Sweep.id)
    return list(session.scalars(query).all())


def trial_runs(session: Session, sweep_id: int) -> list[Run]:
    """The sweep's trials, by number."""
    query = select(Run).where(Run.sweep_id == sweep_id).order_by(Run.trial_number)
    return list(session.scalars(query).all())


def add_trial_run(
    session: Session,
    *,
    sweep: Sweep,
    number: int,
    config: dict[str, Any],
    params: dict[str, Any],
) -> Run | None:
    """Insert trial `number` as a queued run; None when that trial exists already (another
    coordinator step made it: the unique (sweep_id, trial_number) says so)."""
    run = Run(status=RunStatus.QUEUED, dataset_id=sweep.dataset_id, model_name=sweep.model_name)
    run.config, run.epochs = config, int(config["training"]["epochs"])
    run.sweep_id, run.trial_number = sweep.id, number
    run.trial = {"params": params, "objective": None, "holdout": None, "pruned_at_epoch": None}
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        return None
    return run


def record_trial(
    session: Session, run_id: int, outcome: dict[str, Any], *, checkpoint_blob_id: int | None
) -> None:
    """Merge `outcome` into the trial's record and keep its checkpoint."""
    run = session.get(Run, run_id)
    if run is None:
        return
    run.trial = {**(run.trial or {}), **outcome}
    run.checkpoint_blob_id = checkpoint_blob_id


def losses_at(session: Session, sweep_id: int, epoch: int) -> list[float]:
    """The validation loss at `epoch` of every trial of the sweep that reached it."""
    query = (
        select(RunEpoch.val_loss)
        .join(Run, Run.id == RunEpoch.run_id)
        .where(Run.sweep_id == sweep_id, RunEpoch.epoch == epoch, RunEpoch.val_loss.is_not(None))
    )
    return [float(v) for v in session.scalars(query).all() if v is not None]


def start_sweep(session: Session, sweep_id: int) -> None:
    """A queued sweep is running once its coordinator first steps."""
    session.execute(
        update(Sweep)
        .where(Sweep.id == sweep_id, Sweep.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING)
    )


def finish_sweep(
    session: Session,
    sweep_id: int,
    *,
    status: RunStatus,
    best: dict[str, Any] | None = None,
    model_version: int | None = None,
    error: str | None = None,
) -> None:
    """End a sweep with a final status."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    values |= {"best": best, "model_version": model_version}
    session.execute(update(Sweep).where(Sweep.id == sweep_id).values(**values))


def request_sweep_cancel(session: Session, sweep_id: int) -> None:
    """Flag the sweep: its coordinator cancels its trials and ends it."""
    session.execute(update(Sweep).where(Sweep.id == sweep_id).values(cancel_requested=True))
