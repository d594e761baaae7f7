"""Registry and inference over HTTP against a model trained by the embedded executor."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
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


def test_embed_instances_records_and_layer(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(4)
    answer = client.post("/v1/models/tiny/embed", json={"instances": x.tolist()}).json()
    assert answer["model"] == "tiny" and answer["version"] == 1
    assert np.asarray(answer["embeddings"]).shape == (4, 3)
    records = [{f"c{i}": float(v) for i, v in enumerate(row)} for row in x]
    by_name = client.post("/v1/models/tiny@1/embed", json={"records": records}).json()
    assert np.allclose(by_name["embeddings"], answer["embeddings"])
    first = client.post("/v1/models/tiny/embed", json={"instances": x.tolist(), "layer": 0}).json()
    assert np.asarray(first["embeddings"]).shape == (4, 16)


def test_npy_in_and_out(client: TestClient, trained: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, normal_rows(5))
    response = client.post(
        "/v1/models/tiny/reconstruct",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert response.status_code == 200
    assert response.headers["x-hourglass-model"] == "tiny"
    assert response.headers["x-hourglass-version"] == "1"
    answer = np.load(io.BytesIO(response.content), allow_pickle=False)
    assert answer["reconstruction"].shape == (5, 6) and answer["error"].shape == (5,)
    json_answer = client.post(
        "/v1/models/tiny/reconstruct", json={"instances": normal_rows(5).tolist()}
    ).json()
    np.testing.assert_allclose(answer["error"], json_answer["errors"])


def test_anomalies_flag_outliers_and_explain(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(4)
    x[0, 2] += 50.0
    body = {"instances": x.tolist(), "explain": 2.0, "alpha": 0.2}  # 2.0 is a JSON integer
    answer = client.post("/v1/models/tiny/anomalies", json=body).json()
    assert answer["alpha"] == 0.2 and len(answer["p_values"]) == 4
    assert answer["is_anomaly"][0] and answer["scores"][0] == max(answer["scores"])
    assert answer["explanations"][0][0]["feature"] == "c2"
    assert len(answer["explanations"][0]) == 2


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


def test_bad_rows_name_the_row_and_column(client: TestClient, trained: dict[str, Any]) -> None:
    wide = is_problem(client.post("/v1/models/tiny/embed", json={"instances": [[1.0] * 7]}), 422)
    assert "7" in wide["detail"] and "6" in wide["detail"]
    unknown = [{f"c{i}": 1.0 for i in range(6)} | {"zz": 1.0}]
    body = is_problem(client.post("/v1/models/tiny/anomalies", json={"records": unknown}), 422)
    assert "zz" in body["detail"]
    nan = client.post(
        "/v1/models/tiny/embed",
        content=b'{"instances": [[1, 2, 3, 4, 5, NaN]]}',
        headers={"content-type": "application/json"},
    )
    is_problem(nan, 422)
    buffer = io.BytesIO()
    x = np.ones((2, 6))
    x[1, 4] = np.inf
    np.save(buffer, x)
    inf = client.post(
        "/v1/models/tiny/embed",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy"},
    )
    assert "row 1" in is_problem(inf, 422)["detail"]
    is_problem(
        client.post("/v1/models/tiny/embed", json={"instances": [[1, "a", 3, 4, 5, 6]]}), 422
    )
    is_problem(client.post("/v1/models/tiny/embed", json={}), 422)
    is_problem(
        client.post("/v1/models/tiny/embed", json={"instances": [[1.0] * 6], "layer": 99}), 422
    )


def test_rows_cap_and_unknown_refs(client: TestClient, trained: dict[str, Any]) -> None:
    too_many = {"instances": [[1.0] * 6] * 1001}
    is_problem(client.post("/v1/models/tiny/embed", json=too_many), 422)
    for ref in ("nope", "tiny@99", "tiny@nope"):
        is_problem(client.post(f"/v1/models/{ref}/embed", json={"instances": [[1.0] * 6]}), 404)
    is_problem(client.get("/v1/models/nope"), 404)
