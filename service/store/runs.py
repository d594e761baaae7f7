"""Queries on runs, their epochs and idempotency keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.store.db import insert
from service.store.tables import IdempotencyKey, Run, RunEpoch, RunStatus, utcnow


def add_run(
    session: Session, *, dataset_id: int, model_name: str, config: dict[str, Any], epochs: int
) -> Run:
    """Insert a queued run."""
    run = Run(status=RunStatus.QUEUED, dataset_id=dataset_id, model_name=model_name)
    run.config, run.epochs = config, epochs  # epoch, attempts and the cancel flag start at 0
    return insert(session, run)


def get_run(session: Session, run_id: int) -> Run | None:
    """The run with this id, if any."""
    return session.get(Run, run_id)


def list_runs(
    session: Session, *, status: RunStatus | None, model_name: str | None, limit: int, offset: int
) -> tuple[list[Run], int]:
    """A filtered page of runs, newest first, and the filtered total."""
    query = select(Run)
    if status is not None:
        query = query.where(Run.status == status)
    if model_name is not None:
        query = query.where(Run.model_name == model_name)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Run.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def list_epochs(session: Session, run_id: int) -> list[RunEpoch]:
    """The run's epochs in order."""
    query = select(RunEpoch).where(RunEpoch.run_id == run_id).order_by(RunEpoch.epoch)
    return list(session.scalars(query).all())


def epochs_after(session: Session, cursors: dict[int, int]) -> list[RunEpoch]:
    """The epochs of each run in `cursors` past its cursor, in order (one query for all)."""
    if not cursors:
        return []
    wanted = [and_(RunEpoch.run_id == r, RunEpoch.epoch > c) for r, c in cursors.items()]
    query = select(RunEpoch).where(or_(*wanted)).order_by(RunEpoch.run_id, RunEpoch.epoch)
    return list(session.scalars(query).all())


def states_of(session: Session, run_ids: list[int]) -> dict[int, tuple[RunStatus, int]]:
    """Each run's status and attempt number (runs that do not exist are left out)."""
    query = select(Run.id, Run.status, Run.attempts).where(Run.id.in_(run_ids))
    return {int(i): (RunStatus(s), int(a)) for i, s, a in session.execute(query).all()}


def best_losses(session: Session, run_ids: list[int]) -> dict[int, float]:
    """The lowest validation loss (training loss where there is none) of each run so far."""
    loss = func.min(func.coalesce(RunEpoch.val_loss, RunEpoch.train_loss))
    query = select(RunEpoch.run_id, loss).where(RunEpoch.run_id.in_(run_ids))
    rows = session.execute(query.group_by(RunEpoch.run_id)).all()
    return {int(run_id): float(value) for run_id, value in rows if value is not None}


def add_epoch(
    session: Session,
    run_id: int,
    *,
    epoch: int,
    train_loss: float,
    val_loss: float | None,
    seconds: float,
    layers: dict[str, Any] | None = None,
) -> bool:
    """Record one epoch and return whether a cancel was requested meanwhile."""
    row = RunEpoch(run_id=run_id, epoch=epoch, train_loss=train_loss, val_loss=val_loss)
    row.seconds, row.layers = seconds, layers
    session.add(row)
    session.execute(update(Run).where(Run.id == run_id).values(epoch=epoch))
    return bool(session.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def is_running_on(session: Session, run_id: int, *, worker: str) -> bool:
    """True while the run is `running` on `worker` (not requeued, taken over or finished)."""
    query = select(Run.id).where(
        Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker
    )
    return session.scalar(query) is not None


def claim_run(session: Session, run_id: int, *, worker: str) -> bool:
    """Atomically move a queued run to running for `worker`; False if someone else has it."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            worker=worker,
            attempts=Run.attempts + 1,
            epoch=0,
            started_at=utcnow(),
            error=None,
        )
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        return False
    session.execute(delete(RunEpoch).where(RunEpoch.run_id == run_id))
    return True


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: RunStatus,
    error: str | None = None,
    metrics: dict[str, Any] | None = None,
    model_version: int | None = None,
) -> None:
    """End a run with a final status."""
    values: dict[str, Any] = {"status": status, "error": error, "finished_at": utcnow()}
    if metrics is not None:
        values["metrics"] = metrics
    if model_version is not None:
        values["model_version"] = model_version
    session.execute(update(Run).where(Run.id == run_id).values(**values))


def record_geometry(session: Session, run_id: int, geometry: dict[str, Any]) -> None:
    """Echo how the run's "auto" sizes were resolved in its config, under `auto`."""
    run = session.get(Run, run_id)
    if run is not None:
        run.config = {**run.config, "auto": geometry}


def request_cancel(session: Session, run_id: int) -> None:
    """Flag the run so that its trainer stops after the current epoch."""
    session.execute(update(Run).where(Run.id == run_id).values(cancel_requested=True))


def cancel_requested_among(session: Session, run_ids: list[int]) -> list[int]:
    """The runs among `run_ids` whose cancel was requested."""
    query = select(Run.id).where(Run.id.in_(run_ids), Run.cancel_requested.is_(True))
    return list(session.scalars(query).all())


def cancel_if_queued(session: Session, run_id: int) -> bool:
    """Cancel a run that no worker has claimed yet; False if it is no longer queued."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.CANCELLED, error="cancelled before it started", finished_at=utcnow()
        )
    )
    return isinstance(result, CursorResult) and result.rowcount == 1


def requeue_run(session: Session, run_id: int, *, error: str) -> None:
    """Put an interrupted run back in the queue for another attempt."""
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=RunStatus.QUEUED, error=error, worker=None, started_at=None)
    )


def runs_with_status(session: Session, status: RunStatus) -> list[Run]:
    """All runs in one status, oldest first."""
    query = select(Run).where(Run.status == status).order_by(Run.id)
    return list(session.scalars(query).all())


def queued_run_ids(session: Session, *, limit: int) -> list[int]:
    """The oldest queued runs."""
    query = select(Run.id).where(Run.status == RunStatus.QUEUED).order_by(Run.id).limit(limit)
    return list(session.scalars(query).all())


def find_idempotency_key(session: Session, key: str) -> IdempotencyKey | None:
    """A stored Idempotency-Key, if any."""
    return session.get(IdempotencyKey, key)


def add_idempotency_key(session: Session, *, key: str, request_sha256: str, run_id: int) -> bool:
    """Remember which run a key created; False if a concurrent request stored the key first."""
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(key=key, request_sha256=request_sha256, run_id=run_id))
    except IntegrityError:
        return False
    return True


def delete_run(session: Session, run: Run) -> None:
    """Delete a run; its epochs and idempotency keys go with it (ON DELETE CASCADE)."""
    session.delete(run)
    session.flush()


def count_by_status(session: Session) -> dict[RunStatus, int]:
    """How many runs are in each status."""
    rows = session.execute(select(Run.status, func.count()).group_by(Run.status)).all()
    return {RunStatus(status): int(count) for status, count in rows}


def count_epochs(session: Session) -> int:
    """How many epochs have been recorded in all."""
    return session.scalar(select(func.count()).select_from(RunEpoch)) or 0
