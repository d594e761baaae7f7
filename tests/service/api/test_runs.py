"""Runs over HTTP: full config echoed, lifecycle, epochs, idempotency, cancel, bad configs."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import DetectorConfig
from tests.service.conftest import is_problem, live_client, migrate, normal_rows, upload_rows


@pytest.fixture(scope="module")
def idle(database_url: str) -> Iterator[TestClient]:
    """An app without an executor: runs stay queued (an API replica without workers)."""
    with live_client(database_url, embedded_workers=0) as client:
        yield client


@pytest.fixture(scope="module")
def dataset(idle: TestClient) -> dict[str, Any]:
    return upload_rows(idle, normal_rows(50, 4))


def test_config_defaults_come_from_the_engine(idle: TestClient, dataset: dict[str, Any]) -> None:
    body = {"dataset_id": dataset["id"], "model_name": "m", "training": {"epochs": 7}}
    run = idle.post("/v1/runs", json=body).json()
    expected = DetectorConfig.from_dict({"training": {"epochs": 7}}).resolved(4, 50).to_dict()
    assert run["config"] == expected
    assert run["status"] == "queued" and run["progress"] == {"epoch": 0, "epochs": 7}
    assert run["attempts"] == 0 and run["worker"] is None and run["model_version"] is None
    assert idle.get(f"/v1/runs/{run['id']}/epochs").json() == {"items": []}


def test_a_runs_config_can_be_posted_again(idle: TestClient, dataset: dict[str, Any]) -> None:
    # Clients copy a run's echoed config into the next request; the defaults must be accepted.
    first = idle.post("/v1/runs", json={"dataset_id": dataset["id"], "model_name": "copy"}).json()
    again = idle.post(
        "/v1/runs", json={"dataset_id": dataset["id"], "model_name": "copy", **first["config"]}
    )
    assert again.status_code == 202, again.text
    assert again.json()["config"] == first["config"]


def test_idempotency_key_returns_the_same_run(idle: TestClient, dataset: dict[str, Any]) -> None:
    body = {"dataset_id": dataset["id"], "model_name": "idem"}
    headers = {"Idempotency-Key": "abc-123"}
    first = idle.post("/v1/runs", json=body, headers=headers)
    second = idle.post("/v1/runs", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    other = idle.post("/v1/runs", json=body | {"model_name": "other"}, headers=headers)
    is_problem(other, 409)


def test_concurrent_retries_with_one_key_make_one_run(
    idle: TestClient, dataset: dict[str, Any]
) -> None:
    body = {"dataset_id": dataset["id"], "model_name": "racing"}

    def post(_: int) -> Any:
        return idle.post("/v1/runs", json=body, headers={"Idempotency-Key": "race-1"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(post, range(8)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert idle.get("/v1/runs", params={"model_name": "racing"}).json()["total"] == 1


def test_list_filters_by_status_and_model(idle: TestClient, dataset: dict[str, Any]) -> None:
    idle.post("/v1/runs", json={"dataset_id": dataset["id"], "model_name": "listed"})
    page = idle.get("/v1/runs", params={"model_name": "listed", "status": "queued"}).json()
    assert page["total"] == 1 and page["items"][0]["model_name"] == "listed"
    assert (
        idle.get("/v1/runs", params={"status": "succeeded", "model_name": "listed"}).json()["total"]
        == 0
    )
    is_problem(idle.get("/v1/runs", params={"status": "bogus"}), 422)


def test_cancel_queued_run_then_409(idle: TestClient, dataset: dict[str, Any]) -> None:
    run = idle.post("/v1/runs", json={"dataset_id": dataset["id"], "model_name": "c"}).json()
    cancelled = idle.post(f"/v1/runs/{run['id']}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    is_problem(idle.post(f"/v1/runs/{run['id']}/cancel"), 409)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"architecture": {"activation": "nope"}}, "activation"),
        ({"training": {"epochs": 0}}, "epochs"),
        ({"training": {"learning_rate": -1}}, "learning_rate"),
        ({"calibration": {"alpha": 0.9}}, "alpha"),
        ({"architecture": {"unknown": 1}}, "unknown"),
        # 2 × 65,536² weights: refused up front, not by a worker that runs out of memory.
        ({"architecture": {"hidden_layers": [65536, 65536]}}, "architecture"),
        ({"architecture": {"hidden_layers": [4096, 4096], "ensemble_size": 2}}, "architecture"),
    ],
)
def test_bad_config_is_422_naming_the_field(
    idle: TestClient, dataset: dict[str, Any], config: dict[str, Any], field: str
) -> None:
    before = idle.get("/v1/runs").json()["total"]
    body = {"dataset_id": dataset["id"], "model_name": "bad", **config}
    problem = is_problem(idle.post("/v1/runs", json=body), 422)
    assert any(field in map(str, e["loc"]) for e in problem["errors"]), problem
    assert idle.get("/v1/runs").json()["total"] == before


def test_unknown_ids_are_404(idle: TestClient) -> None:
    is_problem(idle.post("/v1/runs", json={"dataset_id": 999999, "model_name": "x"}), 404)
    is_problem(idle.get("/v1/runs/999999"), 404)
    is_problem(idle.get("/v1/runs/999999/epochs"), 404)
    is_problem(idle.post("/v1/runs/999999/cancel"), 404)


def test_bad_model_name_is_422(idle: TestClient, dataset: dict[str, Any]) -> None:
    is_problem(idle.post("/v1/runs", json={"dataset_id": dataset["id"], "model_name": "a@b"}), 422)
    is_problem(idle.post("/v1/runs", json={"model_name": "x"}), 422)


def test_dataset_used_by_a_run_cannot_be_deleted(idle: TestClient) -> None:
    used = upload_rows(idle, normal_rows(20, 3), name="used")
    run = idle.post("/v1/runs", json={"dataset_id": used["id"], "model_name": "user"})
    assert run.status_code == 202, run.text
    is_problem(idle.delete(f"/v1/datasets/{used['id']}"), 409)
    assert idle.get(f"/v1/datasets/{used['id']}").status_code == 200


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"architecture": {"code_size": 4, "variant": "plain"}}, "code_size"),  # 4 columns
        (
            {"architecture": {"code_size": 9, "hidden_layers": [16], "variant": "plain"}},
            "code_size",
        ),
        ({"training": {"batch_size": 1}}, "batch_size"),
    ],
)
def test_configs_that_cannot_work_are_refused_at_submit(
    idle: TestClient, dataset: dict[str, Any], config: dict[str, Any], field: str
) -> None:
    body = {"dataset_id": dataset["id"], "model_name": "futile", **config}
    problem = is_problem(idle.post("/v1/runs", json=body), 422)
    assert problem["errors"][0]["loc"][-1] == field


def test_a_regularised_wide_code_is_allowed(idle: TestClient, dataset: dict[str, Any]) -> None:
    for variant in ("masked", "denoising"):  # masked (the default) scores hidden cells only
        wide = {"architecture": {"code_size": 6, "variant": variant}}
        body = {"dataset_id": dataset["id"], "model_name": "wide", **wide}
        assert idle.post("/v1/runs", json=body).status_code == 202


def test_an_embedded_server_refuses_what_its_machine_cannot_train(tmp_path: Path) -> None:
    # Only a server that trains every run itself (SQLite) knows the machine that will train.
    import os

    import torch

    url = migrate(f"sqlite:///{tmp_path / 'h.db'}")
    with live_client(url, embedded_workers=1) as trainer:
        dataset = upload_rows(trainer, normal_rows(50, 4))
        body = {"dataset_id": dataset["id"], "model_name": "x"}
        many = {"training": {"devices": (os.cpu_count() or 1) + 1, "device": "cpu"}}
        problem = is_problem(trainer.post("/v1/runs", json=body | many), 422)
        assert problem["errors"][0]["loc"][-1] == "devices"
        if not torch.cuda.is_available():
            cuda = is_problem(
                trainer.post("/v1/runs", json=body | {"training": {"device": "cuda"}}), 422
            )
            assert "no CUDA device" in cuda["detail"]
