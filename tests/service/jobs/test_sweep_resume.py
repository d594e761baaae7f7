"""A sweep survives the death of its coordinator (issue 14): `hourglass serve` on SQLite steps
its sweeps in the job loop; it is killed with SIGKILL (with every process it started) in mid-sweep
and started again on the same database, which resumes from the trial rows: every trial number
exists once, and the sweep ends with its best trial registered."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.service.conftest import normal_rows, wait_until_finished
from tests.service.jobs.test_workers import HOURGLASS, _free_port, _wait_ready

pytestmark = pytest.mark.slow
TRIALS = 6
BASE = {
    "architecture": {"hidden_layers": [32, 16], "dropout": 0.0},
    "training": {"epochs": 40, "batch_size": 16},
    "calibration": {"fraction": 0.1},
}


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [HOURGLASS, "serve"], env=env, stdout=out, stderr=out, start_new_session=True
        )


def _sweep(client: httpx.Client, sweep_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/sweeps/{sweep_id}").json()
    return body


def test_a_killed_coordinator_resumes_without_duplicate_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hourglass.db'}"
    port = _free_port()
    env = os.environ | {
        "HOURGLASS_DATABASE_URL": url,
        "HOURGLASS_PORT": str(port),
        "HOURGLASS_EMBEDDED_WORKERS": "2",
        "HOURGLASS_TORCH_THREADS": "1",
        "HOURGLASS_DEVICE": "cpu",
    }
    subprocess.run([HOURGLASS, "db", "upgrade"], env=env, check=True, capture_output=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    server = _serve(env, tmp_path / "serve.log")
    try:
        _wait_ready(client, server)
        rows = normal_rows(2_000, 8)
        dataset = client.post(
            "/v1/datasets",
            json={"name": "rows", "columns": [f"c{i}" for i in range(8)], "rows": rows.tolist()},
        ).json()
        body = {
            "dataset_id": dataset["id"],
            "model_name": "resumed",
            "base": BASE,
            "space": {"architecture.code_size": {"int": [1, 6]}},
            "trials": TRIALS,
            "parallel": 2,
            "pruning": "none",
        }
        answer = client.post("/v1/sweeps", json=body)
        assert answer.status_code == 202, answer.text
        sweep_id = answer.json()["id"]
        deadline = time.monotonic() + 120
        while len(_sweep(client, sweep_id)["trial_runs"]) < 3:  # mid-sweep: trials done and due
            assert time.monotonic() < deadline, _sweep(client, sweep_id)
            time.sleep(0.2)
        at_kill = _sweep(client, sweep_id)
        os.killpg(server.pid, signal.SIGKILL)  # the coordinator and every training child
        server.wait()
        assert at_kill["status"] == "running"
        assert any(t["state"] in ("queued", "running") for t in at_kill["trial_runs"])
        server = _serve(env, tmp_path / "serve.log")
        _wait_ready(client, server)
        sweep = wait_until_finished(client, f"/v1/sweeps/{sweep_id}", 600)
        assert sweep["status"] == "succeeded", sweep
        assert [t["number"] for t in sweep["trial_runs"]] == list(range(TRIALS))
        engine = create_engine(url)
        with engine.connect() as connection:
            counts = connection.execute(
                text("SELECT trial_number, count(*) FROM runs WHERE sweep_id = :s GROUP BY 1"),
                {"s": sweep_id},
            ).all()
        engine.dispose()
        assert sorted(counts) == [(n, 1) for n in range(TRIALS)]
        assert any(t["run_id"] for t in sweep["trial_runs"])
        assert client.get("/v1/models/resumed").json()["versions"][0]["version"] == 1
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        client.close()
