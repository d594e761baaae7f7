"""Finding 9: under load, training and inference shared the cores blindly. Now the server's own
training processes yield (nice 10): single-row `anomalies` p99 with 8 clients while a run trains
stays within 3× its idle p99 (target of the hardening issue, measured here)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.faults.conftest import FINISHED, WIDTH, Server, rows

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
        with httpx.Client(base_url=base, headers=server.client.headers, timeout=30) as client:
            for _ in range(REQUESTS // CLIENTS):
                started = time.perf_counter()
                answer = client.post("/v1/models/m/anomalies", json={"instances": [row]})
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200
        return latencies

    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = sorted(t for part in pool.map(client_loop, range(CLIENTS)) for t in part)
    return statistics.quantiles(latencies, n=100)[98]


def test_finding_9_training_never_starves_inference(shared: Server, record_property: Any) -> None:
    """On the shared server (its model `m`; one embedded worker, default thread budget)."""
    shared.wait_idle()
    row = rows(1, WIDTH, seed=5)[0]
    _p99(shared, row)  # warm-up
    idle = _p99(shared, row)
    busy = shared.post_run(shared.upload(rows(2_000, 8)), "busy", BUSY)
    shared.wait_run(busy["id"], lambda r: r["progress"]["epoch"] >= 1, 60)
    training = _p99(shared, row)
    still = shared.run(busy["id"])
    shared.client.post(f"/v1/runs/{busy['id']}/cancel")
    record_property("idle_p99_ms", round(idle * 1000, 1))
    record_property("training_p99_ms", round(training * 1000, 1))
    assert still["status"] == "running"  # it trained all through the measurement
    assert training <= 3 * idle, (idle, training)
    assert shared.wait_run(busy["id"], lambda r: r["status"] in FINISHED, 60)["status"] == (
        "cancelled"
    )
