"""Sweep acceptance figures on shuttle (issue 14, part 4), through the real service.

    python bench/sweep.py [--rows 5000]

The service runs in this process on a fresh SQLite database with two embedded training
processes (as `hourglass serve` does). Shuttle (/work/shared/bench-data/32_shuttle.npz, 49,097
rows × 9) is subsampled for time: `--rows` normal rows (label 0) train; 2,000 other rows (both
labels, seeded, disjoint from them) are the labelled set.

1. A 20-trial sweep of `architecture.code_size` in [1, 9] with ASHA, 27 epochs per trial, no
   early stopping: the epochs every trial trained over the unpruned grid's (20 × 27).
2. A 10-trial sweep of code size and activation with objective roc_auc on the labelled rows
   (half choose, half are held out): the chosen trial's held-out ROC-AUC against the best
   held-out ROC-AUC of any trial.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from service.store.db import make_engine
from service.store.migrate import upgrade

DATA = Path(os.environ.get("HOURGLASS_BENCH_DATA", "/work/shared/bench-data")) / "32_shuttle.npz"
BASE = {"training": {"epochs": 27, "early_stopping_patience": 0, "seed": 0}}


def upload(client: TestClient, rows: np.ndarray, columns: list[str], name: str) -> int:
    answer = client.post(
        "/v1/datasets", json={"name": name, "columns": columns, "rows": rows.tolist()}
    )
    assert answer.status_code == 201, answer.text
    dataset: int = answer.json()["id"]
    return dataset


def run_sweep(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/sweeps", json=body)
    assert answer.status_code == 202, answer.text
    sweep_id = answer.json()["id"]
    while True:
        sweep: dict[str, Any] = client.get(f"/v1/sweeps/{sweep_id}").json()
        if sweep["status"] in ("succeeded", "failed", "cancelled"):
            return sweep
        time.sleep(1.0)


@contextmanager
def service(workers: int) -> Iterator[TestClient]:
    """The service on a fresh SQLite database with `workers` embedded training processes."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        settings = Settings(
            database_url=url,
            embedded_workers=workers,
            torch_threads=1,
            api_keys="",
            max_rows=100_000,
            max_body_mb=64,
        )
        with TestClient(create_app(settings)) as client:
            yield client


def shuttle(
    n_normal: int, n_other: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Shuttle's rows and labels, `n_normal` seeded normal rows and `n_other` other rows."""
    data = np.load(DATA)
    x, y = data["X"].astype(np.float64), data["y"].astype(int)
    rng = np.random.default_rng(0)
    normal = rng.permutation(np.flatnonzero(y == 0))[:n_normal]
    others = rng.permutation(np.setdiff1d(np.arange(len(y)), normal))[:n_other]
    return x, y, normal, others, [f"x{i}" for i in range(x.shape[1])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000)
    args = parser.parse_args()
    x, y, train, rest, columns = shuttle(args.rows, 2_000)
    with service(workers=2) as client:
        train_id = upload(client, x[train], columns, "shuttle-normal")
        labelled = np.c_[x[rest], y[rest]]
        labels_id = upload(client, labelled, [*columns, "label"], "shuttle-labelled")
        started = time.perf_counter()
        asha = run_sweep(
            client,
            {
                "dataset_id": train_id,
                "model_name": "shuttle-code",
                "base": BASE,
                "space": {"architecture.code_size": {"int": [1, 9]}},
                "trials": 20,
                "pruning": "asha",
                "parallel": 2,
            },
        )
        states = [t["state"] for t in asha["trial_runs"]]
        print(
            f"ASHA sweep, 20 trials × 27 epochs on {args.rows} shuttle rows: "
            f"{asha['epochs_trained']} of {asha['epochs_planned']} epochs "
            f"({100 * asha['epochs_trained'] / asha['epochs_planned']:.1f} %), "
            f"{states.count('pruned')} pruned, {time.perf_counter() - started:.0f} s; "
            f"best code_size {asha['best']['params']}"
        )
        started = time.perf_counter()
        labelled_sweep = run_sweep(
            client,
            {
                "dataset_id": train_id,
                "model_name": "shuttle-labelled",
                "base": BASE,
                "space": {
                    "architecture.code_size": {"int": [1, 9]},
                    "architecture.activation": {"choice": ["relu", "gelu", "tanh"]},
                },
                "trials": 10,
                "pruning": "none",
                "parallel": 2,
                "objective": {
                    "metric": "roc_auc",
                    "labels": {"dataset_id": labels_id, "column": "label"},
                },
            },
        )
        held = [t["holdout"] for t in labelled_sweep["trial_runs"]]
        chosen = labelled_sweep["best"]
        print(
            f"labelled sweep (roc_auc, 10 trials): chosen trial {chosen['trial_number']} "
            f"{chosen['params']} scores {chosen['objective']:.4f} on the choosing half and "
            f"{chosen['holdout']:.4f} held out; the best held-out of any trial is "
            f"{max(held):.4f} (gap {max(held) - chosen['holdout']:.4f}), "
            f"{time.perf_counter() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
