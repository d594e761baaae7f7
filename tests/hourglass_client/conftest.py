"""A live keyed `hourglass serve` with a model `clients` trained through the client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from hourglass_client import Client
from tests.faults.conftest import Server, server_env, serving

KEY = "c" * 43
TINY = {
    "architecture": {"hidden_layers": [16], "code_size": 3, "dropout": 0.0},
    "training": {"epochs": 5, "batch_size": 64},
    "calibration": {"fraction": 0.2, "alpha": 0.05},
}


def rows_of(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)) @ rng.normal(size=(2, 5)) + 0.05 * rng.normal(size=(n, 5))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("client")
    env = server_env(f"sqlite:///{logs / 'h.db'}", api_keys=f"admin:{KEY}")
    with serving(env, logs, token=KEY) as live:
        yield live


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[Client]:
    with Client(str(server.client.base_url), key=KEY) as made:
        yield made


@pytest.fixture(scope="session")
def trained(client: Client) -> dict[str, Any]:
    """`clients` v1, trained through the client while its epochs were watched."""
    dataset = client.upload_dataset(rows_of(300), columns=["a", "b", "c", "d", "e"], name="rows")
    run = client.create_run(dataset.id, "clients", **TINY)
    events = list(client.watch(run.id))
    finished = client.get_run(run.id)
    assert finished.status == "succeeded", finished
    return {"dataset": dataset, "run": finished, "events": events}
