"""The embedded executor: training in child processes of the server, a few at a time."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from functools import partial
from multiprocessing import connection, forkserver
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess

from sqlalchemy import event
from sqlalchemy.orm import Session

from service.domain import sweeps
from service.domain.sweeps import active_sweeps
from service.domain.training import (
    cancelled_runs,
    next_queued_runs,
    reconcile_runs,
    recover_lost_run,
)
from service.jobs.child import run_child
from service.jobs.spec import TrainerSpec
from service.store.db import SessionFactory, transaction

logger = logging.getLogger(__name__)
STOP_SECONDS = 20.0


def pid_is_gone(worker: str | None) -> bool:
    """True when `host:pid` names a process on this host that no longer exists."""
    if not worker:
        return True
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _warm_context() -> ForkServerContext | SpawnContext:
    """Children forked from a server that has torch and the training code imported already:
    a run starts training in milliseconds instead of the seconds a fresh import of torch takes.
    Where there is no fork server (not POSIX), children are spawned."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # torch and the training code; and what the `hourglass` script (the main module, which
    # every child runs again) imports, so that running it again costs nothing.
    context.set_forkserver_preload(["service.cli", "service.jobs.child"])
    return context


def _start_fork_server() -> None:
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver.ensure_running()


class EmbeddedQueue:
    """Polls for queued runs and trains each in a spawned child process."""

    def __init__(
        self,
        factory: SessionFactory,
        spec: TrainerSpec,
        *,
        workers: int,
        cancel_grace_seconds: float = 30.0,
        poll_seconds: float = 1.0,
    ) -> None:
        # A cancel is honoured at the end of an epoch; a run whose epoch has not ended
        # `cancel_grace_seconds` after the cancel is ended by force.
        self._cancel_grace = cancel_grace_seconds
        self._unit = partial(transaction, factory)
        self._spec = spec
        self._workers = workers
        self._max_attempts = spec.max_attempts
        self._poll_seconds = poll_seconds
        self._children: dict[int, BaseProcess] = {}
        self._cancelled_at: dict[int, float] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = _warm_context()

    def enqueue(self, session: Session, run_id: int, *, needs_cuda: bool = False) -> None:
        """The queued run row is the job (its device was checked at submit); wake the loop once
        the transaction commits."""
        event.listen(session, "after_commit", lambda _s: self._wake.set(), once=True)

    def enqueue_sweep(self, session: Session, sweep_id: int) -> None:
        """The sweep row is the job: the polling loop steps every active sweep."""
        event.listen(session, "after_commit", lambda _s: self._wake.set(), once=True)

    def start(self) -> None:
        """Warm the fork server, reconcile interrupted runs, then start the polling thread."""
        threading.Thread(target=_start_fork_server, name="hourglass-forkserver").start()
        count = reconcile_runs(self._unit, is_lost=pid_is_gone, max_attempts=self._max_attempts)
        if count:
            logger.warning("reconciled interrupted runs", extra={"action": "reconcile"})
        self._thread = threading.Thread(target=self._loop, name="hourglass-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling, end the children, and put their runs back in the queue."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for child in self._children.values():
            child.terminate()  # the child hands its run back after the current epoch
        for child in self._children.values():
            child.join(timeout=STOP_SECONDS)
            if child.is_alive():
                child.kill()
                child.join()
        self._reap()

    def health(self) -> list[str]:
        """What keeps runs from training: a dead polling thread."""
        alive = self._thread is not None and self._thread.is_alive()
        return [] if alive or self._stopping.is_set() else ["the training job loop has stopped"]

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._reap()
                self._end_stuck_cancels()
                self._coordinate()
                self._spawn()
            except Exception:
                logger.exception("job loop error", extra={"action": "poll"})
            self._wake.wait(self._poll_seconds)
            self._wake.clear()

    def _wake_on_exit(self, child: BaseProcess) -> None:
        """Wake the loop when `child` exits, so the slot it frees takes the next queued run at
        once rather than at the next poll (a run posted as another ends waited ~1 s)."""
        connection.wait([child.sentinel])
        self._wake.set()

    def _reap(self) -> None:
        for run_id, child in list(self._children.items()):
            if child.is_alive():
                continue
            child.join()
            del self._children[run_id]
            self._cancelled_at.pop(run_id, None)
            reason = f"interrupted: training process exited with code {child.exitcode}"
            worker = f"{socket.gethostname()}:{child.pid}"
            recover_lost_run(
                self._unit, run_id, worker=worker, reason=reason, max_attempts=self._max_attempts
            )

    def _end_stuck_cancels(self) -> None:
        """A cancel is honoured at the end of an epoch; one that does not come is forced."""
        if not self._children:
            return
        now = time.monotonic()
        for run_id in cancelled_runs(self._unit, list(self._children)):
            asked = self._cancelled_at.setdefault(run_id, now)
            child = self._children[run_id]
            if now - asked > self._cancel_grace and child.is_alive():
                logger.warning("ending a cancelled run by force", extra={"run_id": run_id})
                child.kill()

    def _coordinate(self) -> None:
        """One coordinator step of every active sweep (they queue runs for `_spawn`)."""
        for sweep_id in active_sweeps(self._unit):
            try:
                sweeps.step(self._unit, sweep_id, self)
            except Exception:
                logger.exception("sweep step failed", extra={"action": f"sweep {sweep_id}"})

    def _spawn(self) -> None:
        free = self._workers - len(self._children)
        if free <= 0 or self._stopping.is_set():
            return
        candidates = next_queued_runs(self._unit, limit=free + len(self._children))
        for run_id in [r for r in candidates if r not in self._children][:free]:
            child = self._context.Process(
                target=run_child, args=(self._spec, run_id), name=f"run-{run_id}"
            )
            child.start()
            self._children[run_id] = child
            threading.Thread(target=self._wake_on_exit, args=(child,), daemon=True).start()
            logger.info("training child started", extra={"run_id": run_id, "action": "spawn"})
