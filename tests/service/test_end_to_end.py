"""The whole path on real data: cardio uploaded as CSV, trained, queried, aliased, recalibrated."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import FINISHED, is_problem, wait_for_run

CARDIO = Path("/work/shared/bench-data/6_cardio.npz")
if not CARDIO.exists():
    CARDIO = Path(__file__).parents[3].parent / "shared" / "bench-data" / "6_cardio.npz"

pytestmark = pytest.mark.skipif(not CARDIO.exists(), reason="bench data not present")


def cardio_csv() -> tuple[bytes, np.ndarray, np.ndarray]:
    data = np.load(CARDIO, allow_pickle=False)
    x, y = data["X"], data["y"]
    lines = [",".join(f"f{i}" for i in range(x.shape[1]))]
    lines += [",".join(repr(float(v)) for v in row) for row in x]
    return "\n".join(lines).encode(), x, y


def watch_epochs(client: TestClient, run_id: int) -> tuple[list[int], dict[str, Any]]:
    """Poll epochs until the run ends; return the counts seen and the final run."""
    seen: list[int] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        seen.append(len(client.get(f"/v1/runs/{run_id}/epochs").json()["items"]))
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in FINISHED:
            return seen, run
        time.sleep(0.05)
    raise AssertionError("run did not finish")


def test_cardio_end_to_end(client: TestClient) -> None:
    csv, x, y = cardio_csv()
    dataset = client.post("/v1/datasets", files={"file": ("cardio.csv", csv, "text/csv")}).json()
    assert (dataset["n_rows"], dataset["n_features"]) == x.shape
    config = {
        "training": {"epochs": 25, "batch_size": 16, "early_stopping_patience": 0},
        "architecture": {"dropout": 0.0},
        "calibration": {"fraction": 0.2, "alpha": 0.1},
    }
    run = client.post(
        "/v1/runs", json={"dataset_id": dataset["id"], "model_name": "cardio", **config}
    )
    assert run.status_code == 202
    started = time.monotonic()
    while client.get(f"/v1/runs/{run.json()['id']}").json()["status"] == "queued":
        assert time.monotonic() - started < 120
        time.sleep(0.05)
    tick = time.perf_counter()
    assert client.get("/healthz").status_code == 200  # training never blocks the server
    assert time.perf_counter() - tick < 1.0
    seen, finished = watch_epochs(client, run.json()["id"])
    assert finished["status"] == "succeeded", finished
    assert len({n for n in seen if 0 < n < 25}) >= 2, seen  # a poller saw the epochs grow
    assert seen[-1] == 25

    rows = x[:200].tolist()
    embed = client.post("/v1/models/cardio/embed", json={"instances": rows}).json()
    assert np.asarray(embed["embeddings"]).shape[0] == 200
    rebuilt = client.post("/v1/models/cardio/reconstruct", json={"instances": rows}).json()
    assert np.asarray(rebuilt["reconstructions"]).shape == (200, x.shape[1])
    answers = [
        client.post("/v1/models/cardio/anomalies", json={"instances": part.tolist(), "explain": 3})
        for part in (x[:1000], x[1000:])
    ]
    scores = np.concatenate([a.json()["scores"] for a in answers])
    flags = np.concatenate([a.json()["is_anomaly"] for a in answers])
    assert len(answers[0].json()["explanations"][0]) == 3
    assert scores[y == 1].mean() > scores[y == 0].mean()  # anomalies are odder than normal rows
    assert 0.0 < flags[y == 0].mean() < 0.3  # about alpha=0.1 of normal rows flagged

    assert (
        client.put("/v1/models/cardio/aliases/production", json={"version": 1}).status_code == 200
    )
    assert (
        client.post("/v1/models/cardio/embed", json={"instances": rows[:1]}).json()["version"] == 1
    )
    calibrated = client.post(
        "/v1/models/cardio/calibrate", json={"instances": x[y == 0][:400].tolist()}
    )
    assert calibrated.status_code == 201 and calibrated.json()["n_calibration"] == 400
    assert calibrated.json()["version"] == 2  # a new version; production still points at 1
    assert (
        client.post("/v1/models/cardio/embed", json={"instances": rows[:1]}).json()["version"] == 1
    )

    long = {"training": {"epochs": 5000, "batch_size": 8, "early_stopping_patience": 0}}
    other = client.post(
        "/v1/runs", json={"dataset_id": dataset["id"], "model_name": "cardio", **long}
    )
    other_id = other.json()["id"]
    while client.get(f"/v1/runs/{other_id}/epochs").json()["items"] == []:
        time.sleep(0.05)
    tick = time.perf_counter()  # inference is answered while a run trains
    during = client.post("/v1/models/cardio/anomalies", json={"instances": rows[:10]})
    assert during.status_code == 200 and time.perf_counter() - tick < 2.0
    assert client.get(f"/v1/runs/{other_id}").json()["status"] == "running"
    assert client.post(f"/v1/runs/{other_id}/cancel").status_code == 202
    cancelled = wait_for_run(client, other_id)
    assert cancelled["status"] == "cancelled" and cancelled["model_version"] is None
    assert client.get("/v1/models/cardio").json()["versions"][-1]["version"] == 2  # none added
    is_problem(client.post(f"/v1/runs/{other_id}/cancel"), 409)
