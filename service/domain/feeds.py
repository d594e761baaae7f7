"""Live epochs of runs, for `GET /v1/runs/{id}/epochs/stream`: one poller per process reads the
new epoch rows of every watched run in one query and hands each watcher what it has not seen.

Epochs are written by whichever process trains (an embedded child, a worker on another machine)
and committed to the database; every API process polls that database, so a watcher on any
replica, on SQLite or PostgreSQL, sees an epoch within POLL_SECONDS of its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field

from service.errors import Unavailable
from service.store import runs as store
from service.store.db import SessionFactory, transaction
from service.store.tables import FINISHED, RunEpoch, RunStatus

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.25
MAX_WATCHERS = 1_000  # open epoch streams per process


@dataclass(frozen=True)
class EpochEvent:
    """One recorded epoch."""

    epoch: int
    train_loss: float
    val_loss: float | None
    seconds: float


@dataclass(frozen=True)
class Restart:
    """The run was retried: its epochs start again from 1."""

    attempt: int


@dataclass(frozen=True)
class End:
    """The run finished (or was deleted): no epoch follows."""

    status: str


Event = EpochEvent | Restart | End


@dataclass(eq=False)
class Watcher:
    """One open stream: its run, the last epoch handed to it, and its queue on its event loop."""

    run_id: int
    after: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    attempt: int | None = None

    async def next(self, timeout: float) -> Event | None:
        """The next event, or None when `timeout` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def put(self, event: Event) -> None:
        """Hand an event over from the poller's thread."""
        with contextlib.suppress(RuntimeError):  # its event loop has closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


class EpochFeed:
    """The process's one poller and its watchers."""

    def __init__(
        self,
        factory: SessionFactory,
        *,
        poll_seconds: float = POLL_SECONDS,
        max_watchers: int = MAX_WATCHERS,
    ) -> None:
        self._factory = factory
        self._poll_seconds = poll_seconds
        self._max = max_watchers
        self._watchers: set[Watcher] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, run_id: int, *, after: int, loop: asyncio.AbstractEventLoop) -> Watcher:
        """A watcher of `run_id` that is handed every epoch after `after`, then `End`."""
        watcher = Watcher(run_id, after, loop)
        with self._lock:
            if len(self._watchers) >= self._max:
                raise Unavailable(f"{self._max} epoch streams are open; try again later")
            self._watchers.add(watcher)
        self._wake.set()  # its backlog comes at once, not after a poll interval
        return watcher

    def forget(self, watcher: Watcher) -> None:
        """The stream closed."""
        with self._lock:
            self._watchers.discard(watcher)

    @property
    def watching(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._watchers)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, name="hourglass-epochs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            try:
                self.tick()
            except Exception as exc:  # the database is away: the watchers wait, retry
                logger.warning("epoch poll failed: %s", exc, extra={"action": "poll"})

    def tick(self) -> None:
        """Read the watched runs' states, then their new epochs (so that a finished state comes
        with all its epochs), in one transaction, and hand them out."""
        with self._lock:
            watchers = list(self._watchers)
        if not watchers:
            return
        cursors: dict[int, int] = {}
        for w in watchers:
            cursors[w.run_id] = min(w.after, cursors.get(w.run_id, w.after))
        with transaction(self._factory) as session:
            states = store.states_of(session, list(cursors))
            rows = store.epochs_after(session, cursors)
        by_run: dict[int, list[RunEpoch]] = {}
        for row in rows:
            by_run.setdefault(row.run_id, []).append(row)
        for w in watchers:
            self._hand_out(w, states.get(w.run_id), by_run.get(w.run_id, []))

    def _hand_out(
        self, watcher: Watcher, state: tuple[RunStatus, int] | None, rows: list[RunEpoch]
    ) -> None:
        if state is None:
            return self._end(watcher, "deleted")
        status, attempt = state
        if watcher.attempt is not None and attempt != watcher.attempt and watcher.after > 0:
            watcher.attempt, watcher.after = attempt, 0  # its epochs come at the next poll
            return watcher.put(Restart(attempt))
        watcher.attempt = attempt
        for row in rows:
            if row.epoch > watcher.after:
                watcher.put(EpochEvent(row.epoch, row.train_loss, row.val_loss, row.seconds))
                watcher.after = row.epoch
        if status in FINISHED:
            self._end(watcher, status.value)
        return None

    def _end(self, watcher: Watcher, status: str) -> None:
        watcher.put(End(status))
        self.forget(watcher)
