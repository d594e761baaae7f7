"""Real databases (SQLite and PostgreSQL), migrated by Alembic, and a live app over HTTP."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.config import Settings
from service.main import create_app
from service.store.db import make_engine
from service.store.migrate import upgrade

torch.set_num_threads(1)

POSTGRES_URL = os.environ.get(
    "HOURGLASS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
TINY = {
    "architecture": {"hidden_layers": [16], "code_size": 3, "dropout": 0.0},
    "training": {"epochs": 3, "batch_size": 64},
    "calibration": {"fraction": 0.2, "alpha": 0.05},
}
FINISHED = ("succeeded", "failed", "cancelled")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh `hourglass_test_<random>` database, dropped afterwards."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"hourglass_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required when CI=true: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def empty_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'hourglass.db'}"
        return
    with postgres_database() as url:
        yield url


def migrate(url: str) -> str:
    """Upgrade `url` to head with Alembic (the only way the schema is created)."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database per test module, on each backend."""
    with empty_database(request.param, tmp_path_factory) as url:
        yield migrate(url)


def settings_for(url: str, **overrides: Any) -> Settings:
    """Test settings: one training child, one torch thread, small caps."""
    values: dict[str, Any] = {
        "database_url": url,
        "embedded_workers": 1,
        "torch_threads": 1,
        "max_body_mb": 2,
        "max_rows": 1000,
        "api_keys": "",
    }
    return Settings(**(values | overrides))


@contextmanager
def live_client(url: str, **overrides: Any) -> Iterator[TestClient]:
    """The app, started (lifespan and all), answering real HTTP requests."""
    with TestClient(create_app(settings_for(url, **overrides))) as client:
        yield client


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    """A live app on the module's database with the embedded executor."""
    with live_client(database_url) as client:
        yield client


def normal_rows(n: int = 300, d: int = 6, seed: int = 0) -> np.ndarray:
    """Low-rank rows plus noise: easy for an autoencoder."""
    rng = np.random.default_rng(seed)
    rows: np.ndarray = rng.normal(size=(n, 2)) @ rng.normal(size=(2, d))
    return rows + 0.05 * rng.normal(size=(n, d)) + 5.0


def upload_rows(client: TestClient, x: np.ndarray, name: str = "rows") -> dict[str, Any]:
    """POST a JSON dataset and return its DatasetRead."""
    columns = [f"c{i}" for i in range(x.shape[1])]
    response = client.post(
        "/v1/datasets", json={"name": name, "columns": columns, "rows": x.tolist()}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def start_run(
    client: TestClient, dataset_id: int, model_name: str, **config: Any
) -> dict[str, Any]:
    """POST a run with the tiny config (sections in `config` replace TINY's)."""
    body = {"dataset_id": dataset_id, "model_name": model_name, **(TINY | config)}
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    return run


def wait_until_finished(client: Any, path: str, timeout: float = 180) -> dict[str, Any]:
    """Poll `path` (a run or a sweep) until its status is a final one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(path).json()
        if found["status"] in FINISHED:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{path} did not finish in {timeout}s")


def wait_for_run(client: TestClient, run_id: int, timeout: float = 180) -> dict[str, Any]:
    """Poll until the run finishes."""
    return wait_until_finished(client, f"/v1/runs/{run_id}", timeout)


@pytest.fixture(scope="module")
def trained(client: TestClient) -> dict[str, Any]:
    """A model `tiny` trained once per module; returns its finished run."""
    dataset = upload_rows(client, normal_rows(), name="normal")
    run = wait_for_run(client, start_run(client, dataset["id"], "tiny")["id"])
    assert run["status"] == "succeeded", run
    return run | {"dataset": dataset}


def train_model(client: TestClient, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload 120 rows of 4 columns named after the model and train it: (dataset, run)."""
    dataset = upload_rows(client, normal_rows(120, 4, seed=len(name)), name=name)
    run = wait_for_run(client, start_run(client, dataset["id"], name)["id"])
    assert run["status"] == "succeeded", run
    return dataset, run


def is_problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem document with `status`; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body
