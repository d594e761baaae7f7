"""Procrastinate workers: runs' jobs live in PostgreSQL; any number of `hourglass worker` share them.

A worker trains in a thread of its own process (so a `kill -9` ends the training with it), checks
the run's cancel flag and procrastinate's abort at every epoch, and hands its run back to the queue
on SIGTERM. Every worker also looks for jobs of workers that stopped sending heartbeats and retries
their runs (or fails them after `max_attempts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from functools import partial
from multiprocessing.process import BaseProcess

import procrastinate
import torch
from procrastinate import JobContext, PsycopgConnector, RetryStrategy
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager
from procrastinate.utils import sync_to_async
from sqlalchemy.orm import Session

from service.domain import sweeps
from service.domain.training import Outcome, UnitOfWork, recover_stalled_run
from service.jobs.spec import TrainerSpec
from service.jobs.training import train_here, worker_name
from service.logs import configure_logging
from service.periodic import Periodic
from service.store.db import make_engine, make_session_factory, transaction
from service.store.jobs import (
    CUDA_QUEUE,
    SWEEP_TASK,
    TRAINING_QUEUE,
    TRAINING_TASK,
    defer_sweep_step,
    defer_training_job,
    libpq_conninfo,
)

logger = logging.getLogger(__name__)
WATCH_SECONDS = 0.5
SETTLE_SECONDS = 5.0  # a replacement counts as up once it has lived this long
SWEEP_STEP_SECONDS = 1.0  # between two coordinator steps of an active sweep


class TrainingInterrupted(Exception):
    """The worker is shutting down; the run went back to the queue for another worker."""


class ProcrastinateQueue:
    """The API side on PostgreSQL: defer a run's job in the transaction that writes the run.

    With `processes` > 0 the server also starts that many worker processes of its own (the
    single-machine convenience) and watches them: one that dies (`kill -9`, out of memory) is
    replaced within a second, and its replacement retries the run whose heartbeats stopped.
    /readyz reports a dead worker, and its replacement until it has lived SETTLE_SECONDS (so a
    worker that keeps dying keeps the server unready). A deployment sets 0 and runs
    `hourglass worker` containers.
    """

    def __init__(self, spec: TrainerSpec, *, processes: int = 0) -> None:
        self._spec = spec
        self._processes = processes
        self._children: list[BaseProcess] = []
        self._context = multiprocessing.get_context("spawn")
        self._watchdog = Periodic(
            self._replace_dead, seconds=WATCH_SECONDS, name="hourglass-worker-watchdog"
        )
        self._replaced: dict[int, tuple[float, int | None]] = {}  # index: (when, exit code)
        self.restarts = 0

    def enqueue(self, session: Session, run_id: int, *, needs_cuda: bool = False) -> None:
        """Insert the job through procrastinate's SQL function, in the caller's transaction;
        a run that needs CUDA goes to the queue only workers with CUDA take."""
        defer_training_job(session, run_id, queue=CUDA_QUEUE if needs_cuda else TRAINING_QUEUE)

    def enqueue_sweep(self, session: Session, sweep_id: int) -> None:
        """Defer the sweep's first (or next) coordinator step in the caller's transaction."""
        defer_sweep_step(session, sweep_id)

    def start(self) -> None:
        """Start the server's own worker processes, if any, and the thread that watches them."""
        self._children = [self._spawn(i) for i in range(self._processes)]
        if self._processes:
            self._watchdog.start()

    def stop(self) -> None:
        """SIGTERM the worker processes: each hands its run back to the queue and exits."""
        self._watchdog.stop()
        for child in self._children:
            child.terminate()
        for child in self._children:
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
        self._children.clear()

    def health(self) -> list[str]:
        """The server's own worker processes that are dead, or replace one and are new."""
        if self._watchdog.stopping:
            return []
        problems = []
        now = time.monotonic()
        for i, child in enumerate(list(self._children)):
            replaced = self._replaced.get(i)
            if not child.is_alive():
                problems.append(f"training worker process {child.pid} exited ({child.exitcode})")
            elif replaced is not None and now - replaced[0] < SETTLE_SECONDS:
                problems.append(
                    f"training worker process {child.pid} is starting; it replaces one that "
                    f"exited ({replaced[1]})"
                )
        return problems

    def _spawn(self, index: int) -> BaseProcess:
        child = self._context.Process(
            target=worker_main, args=(self._spec,), name=f"worker-{index}"
        )
        child.start()
        return child

    def _replace_dead(self) -> None:
        for i, child in enumerate(self._children):
            if child.is_alive() or self._watchdog.stopping:
                continue
            logger.error(
                "training worker process died; starting another",
                extra={"action": "restart", "pid": child.pid, "exitcode": child.exitcode},
            )
            self._replaced[i] = (time.monotonic(), child.exitcode)
            self._children[i] = self._spawn(i)
            self.restarts += 1


def build_app(spec: TrainerSpec, unit: UnitOfWork) -> procrastinate.App:
    """A procrastinate app whose one task trains a run."""
    app = procrastinate.App(connector=PsycopgConnector(conninfo=libpq_conninfo(spec.database_url)))
    retry = RetryStrategy(max_attempts=spec.max_attempts, retry_exceptions={TrainingInterrupted})

    @app.task(name=TRAINING_TASK, queue=TRAINING_QUEUE, pass_context=True, retry=retry)
    def train(context: JobContext, run_id: int) -> str:
        outcome = train_here(unit, run_id, device=spec.device, interrupted=context.should_abort)
        if outcome == Outcome.INTERRUPTED:
            raise TrainingInterrupted(f"run {run_id} handed back to the queue")
        return outcome.value

    @app.task(name=SWEEP_TASK, queue=TRAINING_QUEUE, retry=spec.max_attempts)
    def step_sweep(sweep_id: int) -> str:
        active = sweeps.step(unit, sweep_id, ProcrastinateQueue(spec))
        if active:  # the next step, in a moment: trials finish on other workers
            with unit() as session:
                defer_sweep_step(session, sweep_id, delay_seconds=SWEEP_STEP_SECONDS)
        return "active" if active else "done"

    return app


def worker_queues() -> list[str]:
    """Every worker takes the training queue; a worker with CUDA takes the CUDA queue too."""
    return [TRAINING_QUEUE, CUDA_QUEUE] if torch.cuda.is_available() else [TRAINING_QUEUE]


async def recover_stalled_jobs(app: procrastinate.App, unit: UnitOfWork, spec: TrainerSpec) -> int:
    """Retry (or fail) the runs of jobs whose worker stopped sending heartbeats."""
    manager = app.job_manager
    stalled = [
        job
        for queue in (TRAINING_QUEUE, CUDA_QUEUE)
        for job in await manager.get_stalled_jobs(
            queue=queue, seconds_since_heartbeat=spec.stalled_seconds
        )
    ]
    for job in stalled:
        await _recover(manager, job, unit, spec.max_attempts)
    return len(stalled)


async def _recover(manager: JobManager, job: Job, unit: UnitOfWork, max_attempts: int) -> None:
    if job.task_name == SWEEP_TASK:  # a coordinator step is idempotent: run it again
        await manager.retry_job(job)
        logger.warning("stalled sweep step retried", extra={"job_id": job.id, "action": "retry"})
        return
    run_id = int(str(job.task_kwargs["run_id"]))
    requeued = await sync_to_async(recover_stalled_run, unit, run_id, max_attempts=max_attempts)
    if requeued:
        await manager.retry_job(job)
    else:
        await manager.finish_job(job, status=Status.FAILED, delete_job=False)
    logger.warning(
        "stalled job recovered",
        extra={"run_id": run_id, "job_id": job.id, "action": "retry" if requeued else "fail"},
    )


async def _recovery_loop(app: procrastinate.App, unit: UnitOfWork, spec: TrainerSpec) -> None:
    while True:
        await asyncio.sleep(spec.heartbeat_seconds)
        try:
            await recover_stalled_jobs(app, unit, spec)
        except Exception:
            logger.exception("stalled-job recovery failed", extra={"action": "recover"})


async def run_worker(spec: TrainerSpec) -> None:
    """Run jobs until SIGTERM/SIGINT; then hand running runs back and exit."""
    engine = make_engine(spec.database_url, answer_seconds=spec.database_timeout)
    unit = partial(transaction, make_session_factory(engine))
    app = build_app(spec, unit)
    async with app.open_async():
        recovery = asyncio.create_task(_recovery_loop(app, unit, spec))
        try:
            await app.run_worker_async(
                queues=worker_queues(),
                concurrency=spec.concurrency,
                name=worker_name(),
                update_heartbeat_interval=spec.heartbeat_seconds,
                stalled_worker_timeout=spec.stalled_seconds,
                shutdown_graceful_timeout=spec.shutdown_seconds,
                install_signal_handlers=True,
            )
        finally:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
    engine.dispose()


def worker_main(spec: TrainerSpec) -> None:
    """Entry of a worker process: its own thread budget, logging and event loop."""
    configure_logging(spec.log_level, spec.log_format)
    os.nice(spec.nice)
    torch.set_num_threads(spec.torch_threads)
    asyncio.run(run_worker(spec))
