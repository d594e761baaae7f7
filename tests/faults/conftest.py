"""The fault suite's own world: a throwaway PostgreSQL cluster it starts, freezes (SIGSTOP),
thaws, stops and restarts itself (never the machine's shared one), and live `hourglass serve`
processes on real ports.

Two servers are shared by the whole session (each start costs seconds of torch imports): a
keyed one on SQLite with a trained model `m` (`shared`), and one on the cluster without
workers of its own (`postgres_api`). Tests that break their server (revoked keys, bad key
entries, a killed worker) start their own.

Without PostgreSQL's server binaries the PostgreSQL tests skip, and fail under CI=true.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import is_problem, migrate

HOURGLASS = str(Path(sys.executable).parent / "hourglass")
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
TINY = {
    "architecture": {"hidden_layers": [16], "code_size": 3, "dropout": 0.0},
    "training": {"epochs": 3, "batch_size": 64},
    "calibration": {"fraction": 0.2, "alpha": 0.05},
}
FINISHED = ("succeeded", "failed", "cancelled")
TOKEN = "s" * 40  # the shared server's admin key
WIDTH = 4  # columns of the shared server's model `m`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Cluster:
    """A PostgreSQL cluster of the suite's own, on a free port."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str) -> None:
        argv = _as_postgres([str(Path(PG_BINS[-1]) / tool), *args])
        subprocess.run(argv, check=True, capture_output=True, cwd=self.root)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.root.chmod(0o755)
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _pids(self) -> list[int]:
        """The postmaster and every backend: freezing only the postmaster would leave the
        open connections answering."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def create_database(self, name: str) -> str:
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A running throwaway PostgreSQL for the whole fault suite, removed afterwards."""
    if not PG_BINS or not shutil.which("pgrep"):
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's server binaries (initdb, pg_ctl) are required when CI=true")
        pytest.skip("PostgreSQL's server binaries are not installed")
    # pytest's own temporary folders are private to root; the cluster must belong to postgres.
    root = Path(tempfile.mkdtemp(prefix="hourglass-faults-pg-"))
    made = Cluster(root)
    made.init()
    made.start()
    try:
        yield made
    finally:
        with suppress(OSError, ValueError):
            made.thaw()  # a test that froze it and failed must not leave it stopped
        made.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Server:
    """A live `hourglass serve` process and an HTTP client for it."""

    proc: subprocess.Popen[bytes]
    client: httpx.Client
    env: dict[str, str]
    log: Path

    def wait_run(
        self, run_id: int, until: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.client.get(f"/v1/runs/{run_id}").json()
            if until(run):
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} timed out: {self.client.get(f'/v1/runs/{run_id}')}")

    def post_run(self, dataset_id: int, name: str, config: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(
            "/v1/runs", json={"dataset_id": dataset_id, "model_name": name, **config}
        )
        assert response.status_code == 202, response.text
        run: dict[str, Any] = response.json()
        return run

    def run(self, run_id: int) -> dict[str, Any]:
        run: dict[str, Any] = self.client.get(f"/v1/runs/{run_id}").json()
        return run

    def wait_idle(self, timeout: float = 60) -> None:
        """Until no run is queued or running (what earlier tests left has ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [
                self.client.get("/v1/runs", params={"status": status}).json()["total"]
                for status in ("queued", "running")
            ]
            if not any(busy):
                return
            time.sleep(0.2)
        raise AssertionError("runs were still queued or running")

    def upload(self, rows: list[list[float]]) -> int:
        columns = [f"c{i}" for i in range(len(rows[0]))]
        response = self.client.post("/v1/datasets", json={"columns": columns, "rows": rows})
        assert response.status_code == 201, response.text
        dataset_id: int = response.json()["id"]
        return dataset_id


def hourglass(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the `hourglass` command to its end."""
    return subprocess.run([HOURGLASS, *args], env=env, capture_output=True, text=True, timeout=120)


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a server on `database_url`, its thread budget the default one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")} | {
        "HOURGLASS_DATABASE_URL": database_url,
        "HOURGLASS_PORT": str(free_port()),
        "HOURGLASS_DEVICE": "cpu",
    }
    return env | {f"HOURGLASS_{k.upper()}": v for k, v in settings.items()}


@contextmanager
def serving(
    env: dict[str, str], logs: Path, *, token: str | None = None, args: tuple[str, ...] = ()
) -> Iterator[Server]:
    """The schema upgraded (as `hourglass db upgrade` does, in this process: one torch import
    less), then `hourglass serve [args]` until the block ends; ready when yielded."""
    migrate(env["HOURGLASS_DATABASE_URL"])
    log = logs / f"serve-{env['HOURGLASS_PORT']}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([HOURGLASS, "serve", *args], env=env, stdout=out, stderr=out)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{env['HOURGLASS_PORT']}", headers=headers, timeout=30
    )
    try:
        _wait_ready(client, proc, log)
        yield Server(proc, client, env, log)
    finally:
        client.close()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"hourglass serve exited: {log.read_text()[-2000:]}"
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"hourglass serve did not become ready: {log.read_text()[-2000:]}")


def rows(n: int, d: int, seed: int = 0) -> list[list[float]]:
    """Low-rank rows plus noise, as lists (JSON)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)) + 0.05 * rng.normal(size=(n, d))
    result: list[list[float]] = x.tolist()
    return result


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A keyed `hourglass serve` on SQLite (one embedded worker, a 2 s cancel grace) with a
    model `m` of WIDTH columns trained; its client sends the admin key."""
    logs = tmp_path_factory.mktemp("shared")
    env = server_env(
        f"sqlite:///{logs / 'h.db'}", api_keys=f"admin:{TOKEN}", cancel_grace_seconds="2"
    )
    with serving(env, logs, token=TOKEN) as live:
        run = live.post_run(live.upload(rows(200, WIDTH)), "m", TINY)
        assert live.wait_run(run["id"], lambda r: r["status"] in FINISHED, 120)["status"] == (
            "succeeded"
        )
        yield live


@pytest.fixture(scope="session")
def postgres_api(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`hourglass serve` on the suite's cluster with no training worker of its own (as a
    deployment with `hourglass worker` containers runs it)."""
    url = cluster.create_database("api")
    with serving(server_env(url, embedded_workers="0"), tmp_path_factory.mktemp("api")) as live:
        yield live


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """A refusal as the issue asks for it: an RFC 9457 problem document with `status`, under
    ~4 KB whatever was sent; returns it."""
    assert len(response.content) < 4096, len(response.content)
    return is_problem(response, status)
