"""Finding 9: under load, training and inference shared the cores blindly. Now the server's own
training processes yield (nice 10): single-row `anomalies` p99 with 8 clients while a run trains
stays within 3× its idle p99 (target of the hardening issue, measured here)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.faults.conftest import FINISHED, TINY, Server, rows, server_env, serving

CLIENTS = 8
REQUESTS = 320  # per measurement: bounded in count and time
BUSY = {
    "architecture": {"hidden_layers": [64, 32], "code_size": 4, "dropout": 0.0},
    "training": {"epochs": 1000, "batch_size": 16, "early_stopping_patience": 0},
}


def _p99(server: Server, row: list[float]) -> float:
    """p99 latency of REQUESTS single-row requests from CLIENTS clients (keep-alive each)."""
    base = str(server.client.base_url)

    def client_loop(_: int) -> list[float]:
        latencies = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(REQUESTS // CLIENTS):
                started = time.perf_counter()
                answer = client.post("/v1/models/m/anomalies", json={"instances": [row]})
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200
        return latencies

    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = sorted(t for part in pool.map(client_loop, range(CLIENTS)) for t in part)
    return statistics.quantiles(latencies, n=100)[98]


def test_finding_9_training_never_starves_inference(
    tmp_path_factory: pytest.TempPathFactory, record_property: Any
) -> None:
    logs = tmp_path_factory.mktemp("starve")
    env = server_env(f"sqlite:///{logs / 'h.db'}", embedded_workers="1")
    with serving(env, logs) as server:
        dataset = server.upload(rows(2_000, 8))
        first = server.post_run(dataset, "m", TINY)
        assert server.wait_run(first["id"], lambda r: r["status"] in FINISHED, 60)["status"] == (
            "succeeded"
        )
        row = rows(1, 8, seed=5)[0]
        _p99(server, row)  # warm-up
        idle = _p99(server, row)
        busy = server.post_run(dataset, "busy", BUSY)
        server.wait_run(busy["id"], lambda r: r["progress"]["epoch"] >= 1, 60)
        training = _p99(server, row)
        still = server.client.get(f"/v1/runs/{busy['id']}").json()
        server.client.post(f"/v1/runs/{busy['id']}/cancel")
    record_property("idle_p99_ms", round(idle * 1000, 1))
    record_property("training_p99_ms", round(training * 1000, 1))
    assert still["status"] == "running"  # it trained all through the measurement
    assert training <= 3 * idle, (idle, training)
