"""Use cases for runs: create (validated config, idempotent), read, list, epochs, cancel."""

from __future__ import annotations

import hashlib
from asyncio import AbstractEventLoop
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from models import DetectorConfig
from service.domain.datasets import get_dataset
from service.domain.feeds import EpochFeed, Watcher
from service.domain.queue import JobQueue
from service.errors import BadConfig, IdempotencyConflict, RunFinished, RunNotFinished, RunNotFound
from service.store import blobs
from service.store import registry as registry_store
from service.store import runs as store
from service.store import sweeps as sweeps_store
from service.store.tables import FINISHED, Run, RunEpoch, RunStatus


@dataclass(frozen=True)
class TrainingHost:
    """What the machine that will train has, when the server trains on its own machine."""

    cuda: bool
    gpus: int
    cores: int


@dataclass(frozen=True)
class RunLimits:
    """What this server accepts: the largest model, and (embedded mode) its own machine."""

    max_parameters: int
    host: TrainingHost | None = None  # None: workers elsewhere, each checks for itself


@dataclass(frozen=True)
class RunRequest:
    """What a client asked for: the dataset, the model name and a partial config."""

    dataset_id: int
    model_name: str
    config: dict[str, Any]


def resolve_config(
    partial: dict[str, Any], *, n_features: int, n_rows: int, limits: RunLimits
) -> dict[str, Any]:
    """The full config: the engine's defaults filled in and layer sizes derived for the data;
    refused (naming the field) when it cannot train here or would be no bottleneck."""
    try:
        config = DetectorConfig.from_dict(partial)
        config.architecture.check_bottleneck(n_features)
    except (ValueError, TypeError) as exc:
        raise _bad_config(str(exc)) from exc
    _check_size(config, n_features, limits.max_parameters)
    if limits.host is not None:
        _check_host(config, limits.host)
    return config.resolved(n_features, n_rows).to_dict()


def _bad_config(message: str) -> BadConfig:
    field = message.split(":", 1)[0] if ":" in message else ""
    loc: list[str | int] = ["body", *[p for p in field.split(".") if p]]
    return BadConfig(message, errors=[{"loc": loc, "msg": message}])


def _check_host(config: DetectorConfig, host: TrainingHost) -> None:
    """Refuse at submit what this server's own training processes cannot do."""
    training = config.training
    if training.device == "cuda" and not host.cuda:
        raise _bad_config("training.device: cuda was asked for; this server has no CUDA device")
    on_gpus = training.device == "cuda" or (training.device == "auto" and host.cuda)
    capacity, unit = (host.gpus, "GPU") if on_gpus else (host.cores, "CPU core")
    if training.devices > capacity:
        raise _bad_config(
            f"training.devices: {training.devices} processes were asked for; this server trains "
            f"on {capacity} {unit}{'s' if capacity != 1 else ''}"
        )


def _check_size(config: DetectorConfig, n_features: int, max_parameters: int) -> None:
    # Refused here, with the field named, rather than by a worker running out of memory.
    count = config.architecture.parameter_count(n_features)
    if count > max_parameters:
        message = (
            f"architecture: {count:,} parameters for {n_features} features is over this "
            f"server's limit of {max_parameters:,} (HOURGLASS_MAX_PARAMETERS); use narrower "
            "hidden_layers, a smaller code_size or fewer ensemble members"
        )
        raise BadConfig(message, errors=[{"loc": ["body", "architecture"], "msg": message}])


def create_run(
    session: Session,
    request: RunRequest,
    *,
    queue: JobQueue,
    idempotency_key: str | None,
    limits: RunLimits,
) -> Run:
    """Validate, write a queued run and enqueue its job in the same transaction."""
    fingerprint = _fingerprint(request)
    if idempotency_key is not None:
        earlier = _earlier_run(session, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    dataset = get_dataset(session, request.dataset_id)
    config = resolve_config(
        request.config,
        n_features=dataset.n_features,
        n_rows=dataset.n_rows,
        limits=limits,
    )
    run = store.add_run(
        session,
        dataset_id=dataset.id,
        model_name=request.model_name,
        config=config,
        epochs=int(config["training"]["epochs"]),
    )
    if idempotency_key is not None and not store.add_idempotency_key(
        session, key=idempotency_key, request_sha256=fingerprint, run_id=run.id
    ):
        store.delete_run(session, run)  # a concurrent retry won: answer with its run
        earlier = _earlier_run(session, idempotency_key, fingerprint)
        if earlier is None:
            raise IdempotencyConflict(f"Idempotency-Key {idempotency_key!r} is being used")
        return earlier
    queue.enqueue(session, run.id, needs_cuda=config["training"]["device"] == "cuda")
    return run


def _fingerprint(request: RunRequest) -> str:
    body = [request.dataset_id, request.model_name, request.config]
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _earlier_run(session: Session, key: str, fingerprint: str) -> Run | None:
    stored = store.find_idempotency_key(session, key)
    if stored is None:
        return None
    if stored.request_sha256 != fingerprint:
        raise IdempotencyConflict(f"Idempotency-Key {key!r} was used with a different body")
    return get_run(session, stored.run_id)


def get_run(session: Session, run_id: int) -> Run:
    """The run, or RunNotFound."""
    run = store.get_run(session, run_id)
    if run is None:
        raise RunNotFound(f"run {run_id} does not exist")
    return run


def list_runs(
    session: Session,
    *,
    status: RunStatus | None,
    model_name: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Run], int]:
    """A filtered page of runs and the filtered total."""
    return store.list_runs(
        session, status=status, model_name=model_name, limit=limit, offset=offset
    )


def list_epochs(session: Session, run_id: int) -> list[RunEpoch]:
    """The epochs recorded so far."""
    get_run(session, run_id)
    return store.list_epochs(session, run_id)


def watch_epochs(
    session: Session, feed: EpochFeed, run_id: int, *, after: int, loop: AbstractEventLoop
) -> Watcher:
    """A watcher of the run's epochs after `after` (its Last-Event-ID), then its end."""
    get_run(session, run_id)
    return feed.watch(run_id, after=after, loop=loop)


def cancel_run(session: Session, run_id: int) -> Run:
    """A queued run is cancelled now; a running one stops after its current epoch."""
    run = get_run(session, run_id)
    if run.status in FINISHED:
        raise RunFinished(f"run {run_id} has already finished ({run.status})")
    store.request_cancel(session, run_id)
    store.cancel_if_queued(session, run_id)
    session.refresh(run)
    return run


def delete_run(session: Session, run_id: int) -> None:
    """Delete a finished run and its epochs; versions it registered stay, without their run."""
    run = get_run(session, run_id)
    if run.status not in FINISHED:
        raise RunNotFinished(f"run {run_id} is {run.status}: cancel it first")
    sweep = None if run.sweep_id is None else sweeps_store.get_sweep(session, run.sweep_id)
    if sweep is not None and sweep.status not in FINISHED:
        raise RunNotFinished(
            f"run {run_id} is a trial of sweep {sweep.id}, which is {sweep.status}"
        )
    kept = run.checkpoint_blob_id
    registry_store.forget_run(session, run_id)
    store.delete_run(session, run)
    blobs.delete_blob_if_unused(session, kept)


def run_stats(session: Session) -> dict[str, Any]:
    """Runs per status (every status present) and epochs recorded, for /metrics."""
    counts = store.count_by_status(session)
    runs = {status.value: counts.get(status, 0) for status in RunStatus}
    return {"runs": runs, "epochs": store.count_epochs(session)}
