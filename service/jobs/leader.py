"""One job runner per machine and database, however many server processes share them.

`hourglass serve --workers N` starts N processes with the same settings; each would start the
embedded executor (or its own worker processes) and train N times as many runs at once as the
thread budget allows. `LeaderQueue` lets one of them run the jobs: the one that holds an
exclusive lock on a file named after the database. The others only enqueue (the run row, or the
procrastinate job, is the job either way) and keep trying the lock, so a leader that dies is
replaced within `RETRY_SECONDS`. The kernel drops the lock with the process that held it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path

from sqlalchemy.orm import Session

from service.domain.queue import JobQueue
from service.periodic import Periodic

logger = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


def lock_path(database_url: str) -> Path:
    """The lock file of the job runner for `database_url` on this machine."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"hourglass-jobs-{digest}.lock"


class LeaderQueue:
    """Enqueues through `inner` always; starts it only while this process holds the lock."""

    def __init__(self, inner: JobQueue, path: Path) -> None:
        self.inner = inner
        self._path = path
        self._fd: int | None = None
        self._waiter = Periodic(self._try_lead, seconds=RETRY_SECONDS, name="hourglass-leader")
        self._lock = threading.Lock()

    @property
    def is_leader(self) -> bool:
        return self._fd is not None

    def enqueue(self, session: Session, run_id: int, *, needs_cuda: bool = False) -> None:
        """As the inner queue: the leader (this process or another) picks the job up."""
        self.inner.enqueue(session, run_id, needs_cuda=needs_cuda)

    def enqueue_sweep(self, session: Session, sweep_id: int) -> None:
        """As the inner queue: the leader steps the sweep."""
        self.inner.enqueue_sweep(session, sweep_id)

    def start(self) -> None:
        """Lead now if the lock is free, else wait for it in a thread."""
        if self._try_lead():
            return
        logger.info("another process runs the jobs; waiting to take over", extra={"action": "lead"})
        self._waiter.start()  # tries again every RETRY_SECONDS until it leads

    def stop(self) -> None:
        """Stop waiting; the leader stops the inner queue and lets the lock go."""
        self._waiter.stop()
        with self._lock:
            if self._fd is None:
                return
            self.inner.stop()
            os.close(self._fd)  # releases the lock
            self._fd = None

    def health(self) -> list[str]:
        """The inner queue's problems while leading; a follower has none of its own."""
        return self.inner.health() if self.is_leader else []

    def _try_lead(self) -> bool:
        with self._lock:
            if self._waiter.stopping:
                return False
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            logger.info("this process runs the jobs", extra={"action": "lead"})
            self.inner.start()
            return True
