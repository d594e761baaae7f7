"""Finding 1: on PostgreSQL, `kill -9` of the server's own training worker left its run
`running` for ever, every later run `queued`, and /readyz at 200.

Now every training process is watched, on either database: the server replaces a dead worker
of its own (/readyz says 503 until it has), and the replacement retries the run whose heartbeats
stopped; a killed `hourglass worker`'s run is retried by another worker; a killed embedded
training child (SQLite) gives its run back at once. Each within 60 s, with never two live
attempts at the run, and later runs train.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.faults.conftest import (
    FINISHED,
    HOURGLASS,
    TINY,
    Cluster,
    Server,
    rows,
    server_env,
    serving,
)

LONG = {
    "architecture": {"hidden_layers": [16], "code_size": 3, "dropout": 0.0},
    "training": {"epochs": 400, "batch_size": 8, "early_stopping_patience": 0},
    "calibration": {"fraction": 0.2, "alpha": 0.05},
}
DOING = (
    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' AND args->>'run_id' = '{run}'"
)


def _pid(run: dict[str, Any]) -> int:
    return int(str(run["worker"]).rsplit(":", 1)[1])


def _alive(pid: int) -> bool:
    """The process runs (a zombie, killed and not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _running(at_least: int) -> Callable[[dict[str, Any]], bool]:
    return lambda run: run["status"] == "running" and run["progress"]["epoch"] >= at_least


@dataclass
class Attempts:
    """Watches one run while it recovers: the processes that trained it, and (on PostgreSQL)
    its procrastinate jobs being worked on. Never more than one of either may be live."""

    server: Server
    run_id: int
    database_url: str | None = None
    workers: set[int] = field(default_factory=set)
    most_live: int = 0

    def sample(self) -> dict[str, Any]:
        run = self.server.run(self.run_id)
        if run["worker"]:
            self.workers.add(_pid(run))
        live = sum(map(_alive, self.workers))
        if self.database_url is not None:
            live = max(live, _query(self.database_url, DOING.format(run=self.run_id)))
        self.most_live = max(self.most_live, live)
        return run

    def until(self, done: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.sample()
            if done(run):
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {self.run_id} timed out: {self.server.run(self.run_id)}")


def _retried(run: dict[str, Any]) -> bool:
    """Requeued and taken by another process, or given up (failed)."""
    return run["status"] == "failed" or (run["attempts"] >= 2 and bool(run["worker"]))


def _kill_and_recover(
    server: Server, record_property: Any, name: str, *, database_url: str | None = None
) -> None:
    """Kill -9 the process training a long run; its run is retried within 60 s, never with two
    live attempts; a run posted meanwhile trains; /readyz is 200 at the end."""
    dataset_id = server.upload(rows(400, 4))
    doomed = server.post_run(dataset_id, "doomed", LONG)["id"]
    attempts = Attempts(server, doomed, database_url)
    victim = _pid(attempts.until(_running(2), timeout=90))
    later = server.post_run(dataset_id, "later", TINY)["id"]
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    again = attempts.until(_retried, timeout=60)
    recovered = time.monotonic() - killed
    record_property(name, round(recovered, 1))
    assert recovered < 60
    assert again["status"] == "failed" or _pid(again) != victim, again
    assert attempts.most_live <= 1, f"{attempts.most_live} live attempts at run {doomed}"
    server.client.post(f"/v1/runs/{doomed}/cancel")  # the retry need not run 400 epochs
    assert server.wait_run(later, lambda r: r["status"] in FINISHED, 120)["status"] == "succeeded"
    assert attempts.until(lambda r: r["status"] in FINISHED, 60)["status"] != "running"
    assert attempts.most_live <= 1
    assert server.client.get("/readyz").status_code == 200


@pytest.fixture(scope="module")
def watched(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`hourglass serve` on PostgreSQL with one training worker process of its own."""
    url = cluster.create_database("watched")
    env = server_env(url, embedded_workers="1")
    with serving(env, tmp_path_factory.mktemp("watched")) as live:
        yield live


def _not_ready(server: Server, seconds: float) -> str | None:
    """Poll /readyz for `seconds`: the detail of its first 503, if any."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = server.client.get("/readyz")
        if answer.status_code == 503:
            return str(answer.json()["detail"])
        time.sleep(0.01)
    return None


@pytest.mark.postgres
def test_finding_1_killed_server_worker_on_postgres_is_replaced_and_its_run_retried(
    watched: Server, record_property: Any
) -> None:
    _kill_and_recover(
        watched,
        record_property,
        "postgres_kill9_recovery_seconds",
        database_url=watched.env["HOURGLASS_DATABASE_URL"],
    )


@pytest.mark.postgres
def test_finding_1_readyz_reports_a_dead_server_worker(
    watched: Server, record_property: Any
) -> None:
    """Between the death and the replacement's settling in, /readyz is 503 naming the process;
    then 200 again."""
    _kill_child(watched, b"spawn_main")  # the worker process (spawned)
    killed = time.monotonic()
    detail = _not_ready(watched, seconds=2)
    assert detail is not None and "training worker process" in detail, detail
    deadline = time.monotonic() + 30
    while watched.client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.1)
    record_property("postgres_worker_unready_seconds", round(time.monotonic() - killed, 1))


def _kill_child(server: Server, command: bytes) -> None:
    """SIGKILL the one child process of `hourglass serve` whose command line has `command`."""
    children = subprocess.run(
        ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
    ).stdout.split()
    chosen = [int(pid) for pid in children if command in _cmdline(int(pid))]
    assert len(chosen) == 1, children
    os.kill(chosen[0], signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture
def two_workers(postgres_api: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The PostgreSQL API server and two `hourglass worker` processes sharing its jobs."""
    logs = tmp_path_factory.mktemp("workers")
    url = postgres_api.env["HOURGLASS_DATABASE_URL"]
    before = _query(url, "SELECT coalesce(max(id), 0) FROM procrastinate_workers")
    procs = []
    for i in range(2):
        with (logs / f"worker-{i}.log").open("wb") as out:
            argv = [HOURGLASS, "worker"]
            procs.append(subprocess.Popen(argv, env=postgres_api.env, stdout=out, stderr=out))
    try:
        _wait_registered(url, after=before, count=len(procs))
        yield postgres_api
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _query(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _wait_registered(url: str, *, after: int, count: int) -> None:
    """Until `count` workers newer than worker id `after` have registered with procrastinate:
    a slow start must not leave every run to the other one."""
    deadline = time.monotonic() + 90
    while _query(url, f"SELECT count(*) FROM procrastinate_workers WHERE id > {after}") < count:
        assert time.monotonic() < deadline, "the workers did not register with procrastinate"
        time.sleep(0.2)


@pytest.mark.postgres
def test_finding_1_killed_hourglass_worker_gives_its_run_to_another(
    two_workers: Server, record_property: Any
) -> None:
    _kill_and_recover(
        two_workers,
        record_property,
        "hourglass_worker_kill9_recovery_seconds",
        database_url=two_workers.env["HOURGLASS_DATABASE_URL"],
    )


def test_finding_1_killed_training_child_on_sqlite_gives_its_run_back(
    shared: Server, record_property: Any
) -> None:
    shared.wait_idle()
    _kill_and_recover(shared, record_property, "sqlite_kill9_recovery_seconds")


def test_finding_1_killed_fork_server_on_sqlite_is_started_again(
    shared: Server, record_property: Any
) -> None:
    """The embedded executor forks its training children from a fork server; killed, it is
    started again by the next run, which trains."""
    shared.wait_idle()
    _kill_child(shared, b"multiprocessing.forkserver")
    killed = time.monotonic()
    run = shared.post_run(shared.upload(rows(60, 4)), "after-fork-server", TINY)
    ended = shared.wait_run(run["id"], lambda r: r["status"] in FINISHED, 60)
    record_property("sqlite_fork_server_kill9_run_seconds", round(time.monotonic() - killed, 1))
    assert ended["status"] == "succeeded" and ended["attempts"] == 1, ended
    assert shared.client.get("/readyz").status_code == 200
