"""Where queued runs' jobs go: the one interface every job backend implements."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session


class JobQueue(Protocol):
    """Enqueues run jobs in the caller's transaction; started and stopped by the entry point."""

    def enqueue(self, session: Session, run_id: int, *, needs_cuda: bool = False) -> None:
        """Make sure a worker (one with CUDA, if the run needs it) will pick up the run once
        the transaction commits."""

    def enqueue_sweep(self, session: Session, sweep_id: int) -> None:
        """Make sure a coordinator will step the sweep once the transaction commits."""

    def start(self) -> None:
        """Begin executing jobs (and reconcile what a previous process left behind)."""

    def stop(self) -> None:
        """Stop executing jobs; interrupted runs are put back in the queue."""

    def health(self) -> list[str]:
        """What keeps queued runs from training right now (a dead worker process); [] when all
        is well. /readyz answers 503 with these."""
        ...


class NoQueue:
    """Queues nothing: runs stay queued until a worker elsewhere claims them."""

    def enqueue(self, session: Session, run_id: int, *, needs_cuda: bool = False) -> None:
        """The queued run row is the job; nothing else to write."""

    def enqueue_sweep(self, session: Session, sweep_id: int) -> None:
        """The sweep row is the job; whoever runs jobs steps it."""

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""

    def health(self) -> list[str]:
        """Nothing of ours can fail."""
        return []
