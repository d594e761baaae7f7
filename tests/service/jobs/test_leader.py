"""One job runner per machine and database: the lock holder runs the jobs, the others wait."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.orm import Session

from service.jobs.leader import RETRY_SECONDS, LeaderQueue, lock_path


class Recorder:
    """A JobQueue that records what it is asked to do."""

    def __init__(self) -> None:
        self.started = self.stopped = 0
        self.enqueued: list[int] = []

    def enqueue(self, session: Session, run_id: int, *, needs_cuda: bool = False) -> None:
        self.enqueued.append(run_id)

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def health(self) -> list[str]:
        return ["inner trouble"]


def _wait_until_leading(queue: LeaderQueue) -> None:
    deadline = time.monotonic() + 10 * RETRY_SECONDS
    while not queue.is_leader:
        assert time.monotonic() < deadline, "the follower never took over"
        time.sleep(0.02)


def test_one_process_leads_and_another_takes_over_when_it_stops(tmp_path: Path) -> None:
    path = tmp_path / "jobs.lock"
    first_inner, second_inner = Recorder(), Recorder()
    first, second = LeaderQueue(first_inner, path), LeaderQueue(second_inner, path)
    first.start()
    second.start()
    try:
        assert first.is_leader and first_inner.started == 1
        assert not second.is_leader and second_inner.started == 0
        assert first.health() == ["inner trouble"] and second.health() == []
        first.stop()
        assert first_inner.stopped == 1 and not first.is_leader
        _wait_until_leading(second)
        assert second_inner.started == 1
    finally:
        second.stop()
    assert second_inner.stopped == 1


def test_every_process_enqueues_leader_or_not(tmp_path: Path) -> None:
    path = tmp_path / "jobs.lock"
    leader_inner, follower_inner = Recorder(), Recorder()
    leader, follower = LeaderQueue(leader_inner, path), LeaderQueue(follower_inner, path)
    leader.start()
    follower.start()
    try:
        follower.enqueue(None, 7)  # type: ignore[arg-type]
        leader.enqueue(None, 8)  # type: ignore[arg-type]
    finally:
        follower.stop()
        leader.stop()
    assert follower_inner.enqueued == [7] and leader_inner.enqueued == [8]


def test_a_stopped_follower_never_leads(tmp_path: Path) -> None:
    path = tmp_path / "jobs.lock"
    leader, follower_inner = LeaderQueue(Recorder(), path), Recorder()
    follower = LeaderQueue(follower_inner, path)
    leader.start()
    follower.start()
    follower.stop()
    leader.stop()
    time.sleep(3 * RETRY_SECONDS)
    assert not follower.is_leader and follower_inner.started == 0


def test_each_database_has_its_own_lock() -> None:
    one = lock_path("postgresql+psycopg://db/one")
    assert one == lock_path("postgresql+psycopg://db/one")
    assert one != lock_path("postgresql+psycopg://db/two")
