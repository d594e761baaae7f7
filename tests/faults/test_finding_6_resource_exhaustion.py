"""Finding 6: `hidden_layers` of 100,000 × 1 was accepted (202); its training child grew to
1.5 GB in epoch 0, cancel had no effect, and it blocked the only embedded worker. Now depth is
capped before anything is queued, and a cancel that the end of an epoch does not honour in time
ends the training process by force, freeing the worker."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from tests.service.conftest import (
    TINY,
    is_problem,
    live_client,
    migrate,
    normal_rows,
    start_run,
    upload_rows,
    wait_for_run,
)


def test_finding_6_a_hundred_thousand_layers_are_refused_up_front(tmp_path: Path) -> None:
    url = migrate(f"sqlite:///{tmp_path / 'h.db'}")
    with live_client(url, embedded_workers=0) as client:
        dataset = upload_rows(client, normal_rows(50, 4))
        body = {
            "dataset_id": dataset["id"],
            "model_name": "deep",
            "architecture": {"hidden_layers": [1] * 100_000},
        }
        problem = is_problem(client.post("/v1/runs", json=body), 422)
        assert any("hidden_layers" in map(str, e["loc"]) for e in problem["errors"])
        assert client.get("/v1/runs").json()["total"] == 0


def test_finding_6_a_cancel_stuck_in_a_long_epoch_is_forced(tmp_path: Path) -> None:
    url = migrate(f"sqlite:///{tmp_path / 'h.db'}")
    with live_client(url, cancel_grace_seconds=2.0, max_body_mb=20) as client:
        buffer = io.BytesIO()
        np.save(buffer, np.random.default_rng(0).normal(size=(200_000, 4)))
        uploaded = client.post("/v1/datasets", files={"file": ("big.npy", buffer.getvalue())})
        assert uploaded.status_code == 201, uploaded.text
        one_long_epoch = {"training": {"epochs": 2, "batch_size": 2}}  # 100,000 steps an epoch
        run = start_run(client, uploaded.json()["id"], "stuck", **one_long_epoch)
        deadline = time.monotonic() + 60
        while client.get(f"/v1/runs/{run['id']}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.0)  # inside epoch 1, which takes far longer than the grace
        asked = time.monotonic()
        assert client.post(f"/v1/runs/{run['id']}/cancel").status_code == 202
        ended = wait_for_run(client, run["id"], timeout=30)
        assert ended["status"] == "cancelled" and ended["progress"]["epoch"] == 0
        assert time.monotonic() - asked < 10
        small = upload_rows(client, normal_rows(60, 4))
        after = wait_for_run(client, start_run(client, small["id"], "next", **TINY)["id"])
        assert after["status"] == "succeeded"  # the worker is free again
