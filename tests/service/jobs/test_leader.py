"""One job runner per machine and database: the lock holder runs the jobs, the others wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
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


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LeaderQueue, Recorder, LeaderQueue, Recorder]]:
    """Two processes' queues on one lock, started in turn: the first leads, the second follows."""
    path = tmp_path / "jobs.lock"
    leader_inner, follower_inner = Recorder(), Recorder()
    leader, follower = LeaderQueue(leader_inner, path), LeaderQueue(follower_inner, path)
    leader.start()
    follower.start()
    yield leader, leader_inner, follower, follower_inner
    follower.stop()
    leader.stop()


def test_one_process_leads_and_another_takes_over_when_it_stops(
    pair: tuple[LeaderQueue, Recorder, LeaderQueue, Recorder],
) -> None:
    leader, leader_inner, follower, follower_inner = pair
    assert leader.is_leader and leader_inner.started == 1
    assert not follower.is_leader and follower_inner.started == 0
    assert leader.health() == ["inner trouble"] and follower.health() == []
    leader.stop()
    assert leader_inner.stopped == 1 and not leader.is_leader
    deadline = time.monotonic() + 10 * RETRY_SECONDS
    while follower_inner.started == 0:  # is_leader turns True just before the inner start
        assert time.monotonic() < deadline, "the follower never took over"
        time.sleep(0.02)
    assert follower.is_leader and follower_inner.started == 1
    follower.stop()
    assert follower_inner.stopped == 1


def test_every_process_enqueues_leader_or_not(
    pair: tuple[LeaderQueue, Recorder, LeaderQueue, Recorder],
) -> None:
    leader, leader_inner, follower, follower_inner = pair
    follower.enqueue(None, 7)  # type: ignore[arg-type]
    leader.enqueue(None, 8)  # type: ignore[arg-type]
    assert follower_inner.enqueued == [7] and leader_inner.enqueued == [8]


def test_a_stopped_follower_never_leads(
    pair: tuple[LeaderQueue, Recorder, LeaderQueue, Recorder],
) -> None:
    leader, _, follower, follower_inner = pair
    follower.stop()
    leader.stop()
    time.sleep(3 * RETRY_SECONDS)
    assert not follower.is_leader and follower_inner.started == 0


def test_each_database_has_its_own_lock() -> None:
    one = lock_path("postgresql+psycopg://db/one")
    assert one == lock_path("postgresql+psycopg://db/one")
    assert one != lock_path("postgresql+psycopg://db/two")
