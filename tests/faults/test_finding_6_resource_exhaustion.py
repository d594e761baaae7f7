"""Finding 6: `hidden_layers` of 100,000 × 1 was accepted (202); its training child grew to
1.5 GB in epoch 0, cancel had no effect, and it blocked the only embedded worker. Now depth,
width and parameter count are capped before anything is queued, and a cancel that the end of an
epoch does not honour in time ends the training process by force, freeing the worker."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pytest

from models.config import MAX_DEPTH, MAX_WIDTH
from tests.faults.conftest import FINISHED, TINY, Server, refused, rows


@pytest.mark.parametrize(
    ("hidden_layers", "named"),
    [
        ([1] * 100_000, "hidden_layers"),
        ([1] * (MAX_DEPTH + 1), "hidden_layers"),
        ([MAX_WIDTH + 1], "hidden_layers"),
        ([MAX_WIDTH, MAX_WIDTH], "architecture"),  # 8.6 billion weights: over max_parameters
    ],
    ids=["100000-layers", "33-layers", "too-wide", "too-many-parameters"],
)
def test_finding_6_oversized_architectures_are_refused_up_front(
    shared: Server, hidden_layers: list[int], named: str
) -> None:
    dataset = shared.upload(rows(20, 4))
    before = shared.client.get("/v1/runs").json()["total"]
    architecture = {"hidden_layers": hidden_layers}
    body = {"dataset_id": dataset, "model_name": "deep", "architecture": architecture}
    problem = refused(shared.client.post("/v1/runs", json=body), 422)
    assert named in str(problem["errors"]) + problem["detail"], problem
    assert shared.client.get("/v1/runs").json()["total"] == before  # nothing was queued


def test_finding_6_a_cancel_stuck_in_a_long_epoch_is_forced(
    shared: Server, record_property: Any
) -> None:
    """The shared server's cancel grace is 2 s (HOURGLASS_CANCEL_GRACE_SECONDS)."""
    shared.wait_idle()
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(0).normal(size=(200_000, 4)))
    uploaded = shared.client.post("/v1/datasets", files={"file": ("big.npy", buffer.getvalue())})
    assert uploaded.status_code == 201, uploaded.text
    one_long_epoch = TINY | {"training": {"epochs": 2, "batch_size": 2}}  # 100,000 steps each
    run = shared.post_run(uploaded.json()["id"], "stuck", one_long_epoch)
    shared.wait_run(run["id"], lambda r: r["status"] == "running", 60)
    time.sleep(1.0)  # inside epoch 1, which takes far longer than the grace
    asked = time.monotonic()
    assert shared.client.post(f"/v1/runs/{run['id']}/cancel").status_code == 202
    ended = shared.wait_run(run["id"], lambda r: r["status"] in FINISHED, 30)
    seconds = time.monotonic() - asked
    record_property("stuck_cancel_seconds", round(seconds, 1))
    assert ended["status"] == "cancelled" and ended["progress"]["epoch"] == 0, ended
    assert seconds < 10
    after = shared.post_run(shared.upload(rows(60, 4)), "next", TINY)
    finished = shared.wait_run(after["id"], lambda r: r["status"] in FINISHED, 60)
    assert finished["status"] == "succeeded"  # the worker is free again
