"""`hourglass serve --workers 2`: two real serving processes on one SQLite file, one of them runs
the training jobs (it holds the lock file), and when it dies the other takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.jobs.leader import lock_path
from tests.faults.conftest import FINISHED, TINY, Server, rows, server_env, serving

pytestmark = pytest.mark.slow


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


def test_two_serving_processes_and_one_job_runner(two_workers: Server) -> None:
    workers = _serving_processes(two_workers)
    assert len(workers) == 2, workers
    assert _leader(two_workers) in workers
    finished = _train(two_workers, "led")
    assert finished["status"] == "succeeded" and finished["attempts"] == 1


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
