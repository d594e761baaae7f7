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
        "n_calibration",
        "calibration_excluded",
        "warnings",
    }
    metrics = trained["metrics"]  # 300 rows, 20 % held out; alpha 0.05 needs 19
    assert metrics["n_calibration"] + metrics["calibration_excluded"] == 60
    assert metrics["warnings"] == [] and metrics["threshold"] is not None
    epochs = client.get(f"/v1/runs/{trained['id']}/epochs").json()["items"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    listing = {m["name"]: m for m in client.get("/v1/models").json()["items"]}
    assert listing["tiny"]["latest_version"] >= 1  # recalibrations (other tests) add versions
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


def test_recalibration_registers_a_new_version_and_changes_nothing_else(
    client: TestClient, trained: dict[str, Any]
) -> None:
    row = {"instances": normal_rows(3, seed=9).tolist(), "alpha": 0.2}
    before = client.post("/v1/models/tiny@1/anomalies", json=row).json()
    shifted = (normal_rows(200, seed=3) * 3.0).tolist()
    assert client.put("/v1/models/tiny/aliases/production", json={"version": 1}).status_code == 200
    try:
        answer = client.post("/v1/models/tiny/calibrate", json={"instances": shifted})
        assert answer.status_code == 201, answer.text
        detail = client.get("/v1/models/tiny").json()
        assert detail["aliases"]["production"] == 1  # a user moves aliases, nothing else
        assert client.post("/v1/models/tiny/anomalies", json=row).json() == before
    finally:
        client.delete("/v1/models/tiny/aliases/production")
    made = answer.json()
    assert made["n_calibration"] == 200 and made["from_version"] == 1 and made["version"] > 1
    versions = {v["version"]: v for v in detail["versions"]}
    assert versions[made["version"]]["calibration_source"] == {
        "body": "instances",
        "rows": 200,
        "from_version": 1,
    }
    assert versions[1]["calibration_source"]["split"] == "training"
    recalibrated = versions[made["version"]]["metrics"]
    assert recalibrated["n_calibration"] == 200 and recalibrated["calibration_excluded"] == 0
    assert recalibrated["threshold"] == made["threshold"] != versions[1]["metrics"]["threshold"]
    assert recalibrated["warnings"] == []
    assert client.post("/v1/models/tiny@1/anomalies", json=row).json() == before  # immutable
    again = client.post(f"/v1/models/tiny@{made['version']}/anomalies", json=row).json()
    assert again["scores"] == before["scores"] and again["p_values"] != before["p_values"]
    by_dataset = client.post(
        "/v1/models/tiny@1/calibrate", json={"dataset_id": trained["dataset"]["id"]}
    )
    assert by_dataset.status_code == 201
    assert by_dataset.json()["version"] == made["version"] + 1
    is_problem(client.post("/v1/models/tiny/calibrate", json={}), 422)


def test_recalibration_with_too_few_rows_names_the_minimum(
    client: TestClient, trained: dict[str, Any]
) -> None:
    # The tiny run's alpha is 0.05: p-values reach it from 19 calibration rows on.
    few = client.post("/v1/models/tiny@1/calibrate", json={"instances": normal_rows(18).tolist()})
    problem = is_problem(few, 422)
    assert "at least 19" in problem["detail"] and problem["errors"][0]["loc"] == [
        "body",
        "instances",
    ]
    enough = client.post(
        "/v1/models/tiny@1/calibrate", json={"instances": normal_rows(19).tolist()}
    )
    assert enough.status_code == 201
