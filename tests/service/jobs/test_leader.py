"""One job runner per machine and database: the lock holder runs the jobs, the others wait.

In process with two queues on one lock file, and for real: `hourglass serve --workers 2` on one
SQLite file, where one serving process runs the training jobs and the other takes over when it
dies."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.jobs.leader import RETRY_SECONDS, LeaderQueue, lock_path
from tests.faults.conftest import FINISHED, TINY, Server, rows, server_env, serving


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


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("leader")
    env = server_env(f"sqlite:///{folder / 'hourglass.db'}", embedded_workers="1")
    with serving(env, folder, args=("--workers", "2")) as server:
        yield server


def _serving_processes(server: Server) -> set[int]:
    """The uvicorn worker processes under the `hourglass serve` supervisor."""
    found = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True)
    children = {int(pid) for pid in found.stdout.split()}
    # the supervisor's other child is multiprocessing's resource tracker, which serves nothing
    return {pid for pid in children if b"resource_tracker" not in _cmdline(pid)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _leader(server: Server) -> int:
    text = lock_path(server.env["HOURGLASS_DATABASE_URL"]).read_text().strip()
    return int(text) if text else 0


def _train(server: Server, name: str) -> dict[str, object]:
    dataset = server.upload(rows(120, 4))
    run = server.post_run(dataset, name, TINY)
    return server.wait_run(run["id"], lambda r: r["status"] in FINISHED, 120)


@pytest.mark.slow
def test_two_serving_processes_and_one_job_runner(two_workers: Server) -> None:
    workers = _serving_processes(two_workers)
    assert len(workers) == 2, workers
    assert _leader(two_workers) in workers
    finished = _train(two_workers, "led")
    assert finished["status"] == "succeeded" and finished["attempts"] == 1


@pytest.mark.slow
def test_the_other_process_takes_over_when_the_leader_dies(two_workers: Server) -> None:
    leader = _leader(two_workers)
    os.kill(leader, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _leader(two_workers) in (leader, 0):
        time.sleep(0.1)
    assert _leader(two_workers) not in (leader, 0), "no process took over the jobs"
    assert _leader(two_workers) in _serving_processes(two_workers)
    finished = _train(two_workers, "after")
    assert finished["status"] == "succeeded"
