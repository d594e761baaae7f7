"""The training job: claim a run, fit a Detector, record epochs, register the version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from models import Detector, DetectorConfig, InvalidInput, TrainingDiverged
from service.domain.datasets import load_dataset_array
from service.domain.registry import detector_metrics, register_version
from service.store import runs as store

logger = logging.getLogger(__name__)

UnitOfWork = Callable[[], AbstractContextManager[Session]]
EpochObserver = Callable[[int, float, float | None, float], None]


def train_run(
    unit: UnitOfWork,
    run_id: int,
    *,
    worker: str,
    device: str = "auto",
    observer: EpochObserver | None = None,
) -> str:
    """Train one queued run to its end; returns the final status ("skipped" if not claimed)."""
    with unit() as session:
        if not store.claim_run(session, run_id, worker=worker):
            return "skipped"
    logger.info("run claimed", extra={"run_id": run_id, "worker": worker, "action": "claim"})
    try:
        return _train_claimed(unit, run_id, device=device, observer=observer)
    except Exception as exc:
        logger.exception("run failed", extra={"run_id": run_id, "action": "fail"})
        _finish(unit, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        return "failed"


def _train_claimed(
    unit: UnitOfWork, run_id: int, *, device: str, observer: EpochObserver | None
) -> str:
    with unit() as session:
        run = store.get_run(session, run_id)
        if run is None:
            return "skipped"
        x, columns = load_dataset_array(session, run.dataset_id)
        config = _config(run.config, device)
        model_name, cancelled = run.model_name, run.cancel_requested
    if cancelled:
        _finish(unit, run_id, status="cancelled", error="cancelled before training started")
        return "cancelled"
    detector = Detector(config)
    try:
        detector.fit(x, columns=columns, callback=_epoch_writer(unit, run_id, observer))
    except (InvalidInput, TrainingDiverged) as exc:
        _finish(unit, run_id, status="failed", error=str(exc))
        return "failed"
    if detector.stopped_:
        _finish(unit, run_id, status="cancelled", error="cancelled during training")
        return "cancelled"
    _register(unit, run_id, model_name=model_name, detector=detector)
    return "succeeded"


def _config(stored: dict[str, Any], device: str) -> DetectorConfig:
    config = DetectorConfig.from_dict(stored)
    if config.training.device == "auto" and device != "auto":
        config = replace(config, training=replace(config.training, device=device))
    return config


def _epoch_writer(
    unit: UnitOfWork, run_id: int, observer: EpochObserver | None
) -> Callable[[int, float, float | None, float], bool]:
    def on_epoch(epoch: int, train_loss: float, val_loss: float | None, seconds: float) -> bool:
        if observer is not None:
            observer(epoch, train_loss, val_loss, seconds)
        with unit() as session:
            return store.add_epoch(
                session,
                run_id,
                epoch=epoch,
                train_loss=float(train_loss),
                val_loss=None if val_loss is None else float(val_loss),
                seconds=float(seconds),
            )

    return on_epoch


def _register(unit: UnitOfWork, run_id: int, *, model_name: str, detector: Detector) -> None:
    metrics = detector_metrics(detector)
    checkpoint = detector.to_bytes()
    with unit() as session:
        version = register_version(
            session, model_name, run_id=run_id, detector=detector, checkpoint=checkpoint
        )
        store.finish_run(
            session, run_id, status="succeeded", metrics=metrics, model_version=version.version
        )
    logger.info("run succeeded", extra={"run_id": run_id, "action": "succeed"})


def _finish(unit: UnitOfWork, run_id: int, *, status: str, error: str | None) -> None:
    with unit() as session:
        store.finish_run(session, run_id, status=status, error=error)
    logger.info("run ended", extra={"run_id": run_id, "action": status})


def next_queued_runs(unit: UnitOfWork, *, limit: int) -> list[int]:
    """The oldest queued runs, for an executor with `limit` free slots."""
    with unit() as session:
        return store.queued_run_ids(session, limit=limit)


def recover_lost_run(
    unit: UnitOfWork, run_id: int, *, worker: str | None, reason: str, max_attempts: int
) -> None:
    """A run whose `worker` died while `running`: retry it, or fail it after `max_attempts`."""
    with unit() as session:
        run = store.get_run(session, run_id)
        if run is None or run.status != "running" or run.worker != worker:
            return
        if run.attempts < max_attempts and not run.cancel_requested:
            store.requeue_run(session, run_id, error=f"{reason}; retrying")
            action = "requeue"
        else:
            status = "cancelled" if run.cancel_requested else "failed"
            store.finish_run(
                session, run_id, status=status, error=f"{reason} ({run.attempts} attempts)"
            )
            action = status
    logger.warning(reason, extra={"run_id": run_id, "action": action})


def reconcile_runs(
    unit: UnitOfWork, *, is_lost: Callable[[str | None], bool], max_attempts: int
) -> int:
    """At start-up: recover `running` runs whose worker `is_lost`; returns how many."""
    with unit() as session:
        running = [(run.id, run.worker) for run in store.runs_with_status(session, "running")]
    lost = [(run_id, worker) for run_id, worker in running if is_lost(worker)]
    for run_id, worker in lost:
        reason = f"interrupted: worker {worker} is gone"
        recover_lost_run(unit, run_id, worker=worker, reason=reason, max_attempts=max_attempts)
    return len(lost)
