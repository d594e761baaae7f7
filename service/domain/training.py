"""The training job: claim a run, fit a Detector, record epochs, register the version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from models import Detector, DetectorConfig, EpochCallback, InvalidInput, TrainingDiverged
from models.detector import LayerCallback
from service.domain import sweeps
from service.domain.datasets import load_dataset_array
from service.domain.projection import calibration_rows, sample_of
from service.domain.registry import detector_metrics, register_version
from service.store import runs as store
from service.store.tables import Run, RunStatus

logger = logging.getLogger(__name__)

UnitOfWork = Callable[[], AbstractContextManager[Session]]
EpochObserver = Callable[[int, float, float | None, float], None]
FitFunction = Callable[
    [DetectorConfig, np.ndarray, list[str], EpochCallback, LayerCallback], Detector
]
"""`(config, rows, columns, callback, on_layers) -> fitted Detector`. The entry point that trains
chooses it (in this process, or under torchrun for DDP) and hands it down; the job only calls it.
`on_layers` gets each epoch's layer statistics before `callback` gets the epoch."""


class Outcome(StrEnum):
    """How one attempt at a run ended: a final status, or no status change of its own."""

    SUCCEEDED = RunStatus.SUCCEEDED.value
    FAILED = RunStatus.FAILED.value
    CANCELLED = RunStatus.CANCELLED.value
    SKIPPED = "skipped"  # not claimed, or taken over elsewhere
    INTERRUPTED = "interrupted"  # handed back to the queue (the worker is shutting down)
    PRUNED = "pruned"  # a sweep's trial that ASHA stopped: the run ends cancelled


@dataclass
class _Stop:
    """How the attempt ends if the epoch callback asked the trainer to stop: CANCELLED,
    INTERRUPTED (handed back), SKIPPED (the run was declared lost and is retried elsewhere) or
    PRUNED (a sweep's trial that ASHA stopped)."""

    reason: Outcome | None = None


def train_run(
    unit: UnitOfWork,
    run_id: int,
    *,
    worker: str,
    device: str = "auto",
    fit: FitFunction,
    observer: EpochObserver | None = None,
    interrupted: Callable[[], bool] | None = None,
) -> Outcome:
    """Train one queued run to its end; returns how it ended (SKIPPED if not claimed).

    `interrupted()` is asked after every epoch: True (the worker is shutting down) puts the run
    back in the queue and returns INTERRUPTED.
    """
    with unit() as session:
        if not store.claim_run(session, run_id, worker=worker):
            return Outcome.SKIPPED
    logger.info("run claimed", extra={"run_id": run_id, "worker": worker, "action": "claim"})
    job = _Job(unit, run_id, worker, observer, interrupted or (lambda: False))
    try:
        return _train_claimed(job, device=device, fit=fit)
    except Exception as exc:
        logger.exception("run failed", extra={"run_id": run_id, "action": "fail"})
        _finish(unit, run_id, status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return Outcome.FAILED


@dataclass
class _Job:
    """One attempt at a run, as its epoch callback sees it."""

    unit: UnitOfWork
    run_id: int
    worker: str
    observer: EpochObserver | None
    interrupted: Callable[[], bool]
    stop: _Stop = field(default_factory=_Stop)
    layers: dict[str, Any] | None = None  # this epoch's layer statistics, until it is written
    trial: bool = False  # a sweep's trial: ASHA may prune it; it is scored, not registered

    def on_layers(self, epoch: int, stats: dict[str, Any]) -> None:
        self.layers = stats


def _train_claimed(job: _Job, *, device: str, fit: FitFunction) -> Outcome:
    unit, run_id = job.unit, job.run_id
    with unit() as session:
        run = store.get_run(session, run_id)
        if run is None:
            return Outcome.SKIPPED
        x, columns = load_dataset_array(session, run.dataset_id)
        config = _config(run.config, device)
        model_name, cancelled = run.model_name, run.cancel_requested
        job.trial = run.sweep_id is not None
    if cancelled:
        _finish(unit, run_id, status=RunStatus.CANCELLED, error="cancelled before training started")
        return Outcome.CANCELLED
    try:
        detector = fit(config, x, columns, _epoch_writer(job), job.on_layers)
    except (InvalidInput, TrainingDiverged) as exc:
        _finish(unit, run_id, status=RunStatus.FAILED, error=str(exc))
        return Outcome.FAILED
    if detector.stopped_:
        return _stopped(job)
    if job.trial:
        _score_trial(unit, run_id, detector)
    else:
        sample = sample_of(calibration_rows(x, detector.config_))
        _register(unit, run_id, model_name=model_name, detector=detector, sample=sample)
    return Outcome.SUCCEEDED


def _stopped(job: _Job) -> Outcome:
    """End an attempt the callback stopped: cancelled, handed back, or no longer ours."""
    if job.stop.reason == Outcome.SKIPPED:
        logger.warning("run taken over elsewhere", extra={"run_id": job.run_id, "action": "drop"})
        return Outcome.SKIPPED
    if job.stop.reason == Outcome.PRUNED:
        _finish(job.unit, job.run_id, status=RunStatus.CANCELLED, error="pruned by ASHA")
        return Outcome.CANCELLED
    if job.stop.reason == Outcome.INTERRUPTED:
        with job.unit() as session:
            store.requeue_run(session, job.run_id, error="worker shut down; handed back")
        logger.info("run handed back", extra={"run_id": job.run_id, "action": "requeue"})
        return Outcome.INTERRUPTED
    _finish(job.unit, job.run_id, status=RunStatus.CANCELLED, error="cancelled during training")
    return Outcome.CANCELLED


def _config(stored: dict[str, Any], device: str) -> DetectorConfig:
    config = DetectorConfig.from_dict(stored)
    if config.training.device == "auto" and device != "auto":
        config = replace(config, training=replace(config.training, device=device))
    return config


def _epoch_writer(job: _Job) -> EpochCallback:
    def on_epoch(epoch: int, train_loss: float, val_loss: float | None, seconds: float) -> bool:
        if job.observer is not None:
            job.observer(epoch, train_loss, val_loss, seconds)
        with job.unit() as session:
            if not store.is_running_on(session, job.run_id, worker=job.worker):
                job.stop.reason = (
                    Outcome.SKIPPED
                )  # declared lost, retried elsewhere: never two live
                return True
            cancel = store.add_epoch(
                session,
                job.run_id,
                epoch=epoch,
                train_loss=float(train_loss),
                val_loss=None if val_loss is None else float(val_loss),
                seconds=float(seconds),
                layers=job.layers,
            )
            job.layers = None
            if not cancel and job.trial:
                run = store.get_run(session, job.run_id)
                if run is not None and sweeps.pruned(session, run, epoch, val_loss):
                    job.stop.reason = Outcome.PRUNED
        if cancel:
            job.stop.reason = Outcome.CANCELLED
        elif job.stop.reason is None and job.interrupted():
            job.stop.reason = Outcome.INTERRUPTED
        return job.stop.reason is not None

    return on_epoch


def _register(
    unit: UnitOfWork, run_id: int, *, model_name: str, detector: Detector, sample: bytes
) -> None:
    metrics = detector_metrics(detector)
    checkpoint = detector.to_bytes()
    with unit() as session:
        version = register_version(
            session,
            model_name,
            run_id=run_id,
            detector=detector,
            checkpoint=checkpoint,
            sample=sample,
        )
        if detector.geometry_ is not None:
            store.record_geometry(session, run_id, detector.geometry_)
        store.finish_run(
            session,
            run_id,
            status=RunStatus.SUCCEEDED,
            metrics=metrics,
            model_version=version.version,
        )
    logger.info("run succeeded", extra={"run_id": run_id, "action": "succeed"})


def _score_trial(unit: UnitOfWork, run_id: int, detector: Detector) -> None:
    """A sweep's trial ends scored, its checkpoint kept until the sweep chooses."""
    metrics = detector_metrics(detector)
    checkpoint = detector.to_bytes()
    with unit() as session:
        run = store.get_run(session, run_id)
        if run is not None:
            sweeps.score_trial(session, run, detector, checkpoint)
        if detector.geometry_ is not None:
            store.record_geometry(session, run_id, detector.geometry_)
        store.finish_run(session, run_id, status=RunStatus.SUCCEEDED, metrics=metrics)
    logger.info("trial scored", extra={"run_id": run_id, "action": "succeed"})


def _finish(unit: UnitOfWork, run_id: int, *, status: RunStatus, error: str | None) -> None:
    with unit() as session:
        store.finish_run(session, run_id, status=status, error=error)
    logger.info("run ended", extra={"run_id": run_id, "action": status})


def next_queued_runs(unit: UnitOfWork, *, limit: int) -> list[int]:
    """The oldest queued runs, for an executor with `limit` free slots."""
    with unit() as session:
        return store.queued_run_ids(session, limit=limit)


def cancelled_runs(unit: UnitOfWork, run_ids: list[int]) -> list[int]:
    """Which of these runs a client asked to cancel."""
    with unit() as session:
        return store.cancel_requested_among(session, run_ids)


def recover_lost_run(
    unit: UnitOfWork, run_id: int, *, worker: str | None, reason: str, max_attempts: int
) -> None:
    """A run whose `worker` died while `running`: retry it, or fail it after `max_attempts`."""
    with unit() as session:
        run = store.get_run(session, run_id)
        if run is None or run.status != RunStatus.RUNNING or run.worker != worker:
            return
        action = _retry_or_end(session, run, reason=reason, max_attempts=max_attempts)
    logger.warning(reason, extra={"run_id": run_id, "action": action})


def _retry_or_end(session: Session, run: Run, *, reason: str, max_attempts: int) -> str:
    """Requeue a run whose attempt died, or end it (failed, or cancelled if asked): the action."""
    if run.attempts < max_attempts and not run.cancel_requested:
        store.requeue_run(session, run.id, error=f"{reason}; retrying")
        return "requeue"
    status = RunStatus.CANCELLED if run.cancel_requested else RunStatus.FAILED
    store.finish_run(session, run.id, status=status, error=f"{reason} ({run.attempts} attempts)")
    return status


def reconcile_runs(
    unit: UnitOfWork, *, is_lost: Callable[[str | None], bool], max_attempts: int
) -> int:
    """At start-up: recover `running` runs whose worker `is_lost`; returns how many."""
    with unit() as session:
        running = store.runs_with_status(session, RunStatus.RUNNING)
        candidates = [(run.id, run.worker) for run in running]
    lost = [(run_id, worker) for run_id, worker in candidates if is_lost(worker)]
    for run_id, worker in lost:
        reason = f"interrupted: worker {worker} is gone"
        recover_lost_run(unit, run_id, worker=worker, reason=reason, max_attempts=max_attempts)
    return len(lost)


def recover_stalled_run(unit: UnitOfWork, run_id: int, *, max_attempts: int) -> bool:
    """The job of a `running` run lost its worker: requeue it (True) or end it ("worker lost")."""
    with unit() as session:
        run = store.get_run(session, run_id)
        if run is None or run.status not in (RunStatus.RUNNING, RunStatus.QUEUED):
            return False
        if run.status == RunStatus.QUEUED:
            return True  # already handed back (SIGTERM) or requeued by another worker
        action = _retry_or_end(session, run, reason="worker lost", max_attempts=max_attempts)
    logger.warning("worker lost", extra={"run_id": run_id, "action": action})
    return action == "requeue"
