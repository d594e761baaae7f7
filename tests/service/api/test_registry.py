"""The registry over HTTP: versions, layers, aliases, calibration of a model trained by the
embedded executor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.service.conftest import is_problem, normal_rows


def test_successful_run_registers_a_version(client: TestClient, trained: dict[str, Any]) -> None:
    assert trained["model_version"] == 1 and trained["attempts"] == 1
    assert trained["worker"] and ":" in trained["worker"]
    assert trained["progress"]["epoch"] == trained["progress"]["epochs"] == 3
    assert set(trained["metrics"]) == {
        "train_loss",
        "val_loss",
        "best_epoch",
        "threshold",
        "seconds",
    }
    epochs = client.get(f"/v1/runs/{trained['id']}/epochs").json()["items"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    listing = client.get("/v1/models").json()["items"]
    assert {"name": "tiny", "latest_version": 1, "aliases": {}} in listing
    detail = client.get("/v1/models/tiny").json()
    version = detail["versions"][0]
    assert version["run_id"] == trained["id"] and version["n_features"] == 6
    assert version["columns"] == [f"c{i}" for i in range(6)] and version["code_size"] == 3


def test_layers_list_the_hidden_layers(client: TestClient, trained: dict[str, Any]) -> None:
    layers = client.get("/v1/models/tiny/layers").json()
    assert [layer["index"] for layer in layers] == list(range(len(layers)))
    assert 3 in [layer["width"] for layer in layers]


def test_aliases_move_and_resolve(client: TestClient, trained: dict[str, Any]) -> None:
    put = client.put("/v1/models/tiny/aliases/staging", json={"version": 1})
    assert put.status_code == 200 and put.json()["aliases"] == {"staging": 1}
    answer = client.post(
        "/v1/models/tiny@staging/embed", json={"instances": normal_rows(1).tolist()}
    )
    assert answer.json()["version"] == 1
    is_problem(client.put("/v1/models/tiny/aliases/staging", json={"version": 9}), 404)
    is_problem(client.put("/v1/models/tiny/aliases/7", json={"version": 1}), 422)
    assert client.delete("/v1/models/tiny/aliases/staging").status_code == 204
    is_problem(client.delete("/v1/models/tiny/aliases/staging"), 404)
    is_problem(client.post("/v1/models/tiny@staging/embed", json={"instances": [[1.0] * 6]}), 404)


def test_calibrate_changes_the_threshold_without_new_version(
    client: TestClient, trained: dict[str, Any]
) -> None:
    shifted = (normal_rows(200, seed=3) * 3.0).tolist()
    answer = client.post("/v1/models/tiny/calibrate", json={"instances": shifted})
    assert answer.status_code == 200, answer.text
    assert answer.json()["n_calibration"] == 200 and answer.json()["version"] == 1
    by_dataset = client.post(
        "/v1/models/tiny/calibrate", json={"dataset_id": trained["dataset"]["id"]}
    )
    assert by_dataset.status_code == 200
    assert client.get("/v1/models/tiny").json()["versions"][-1]["version"] == 1
    is_problem(client.post("/v1/models/tiny/calibrate", json={}), 422)
